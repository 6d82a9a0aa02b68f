using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using App.Testing;
using Microsoft.Extensions.Options;

namespace App.IntegrationTests.Observability;

/// <summary>
/// Mutual TLS on the management listener (Management:Tls): a client certificate from the configured CA is admitted;
/// one from another CA, an expired one or none is refused; and rotated files are served and trusted with no restart.
/// The certificates are made by the test.
/// </summary>
public sealed class ManagementTlsTests : IAsyncLifetime, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("app-mtls-").FullName;
    private readonly int _port = TestServers.FreePort();
    private readonly TestCertificateAuthority _authority = TestCertificateAuthority.Create("management CA");
    private GatewayFactory _factory = null!;

    private string CertificateFile => Path.Combine(_directory, "tls.crt");

    private string KeyFile => Path.Combine(_directory, "tls.key");

    private string CaFile => Path.Combine(_directory, "ca.crt");

    public async Task InitializeAsync()
    {
        WriteFiles(_authority, _authority);
        _factory = new GatewayFactory((await SharedServers.RedisAsync()).ConnectionString, await Databases.SharedAsync(), Settings());
        _factory.CreateClient().Dispose();
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    public void Dispose()
    {
        _authority.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task AClientCertificateFromTheConfiguredCaIsAdmitted()
    {
        using var client = _authority.IssueClient();
        var (status, served) = await GetAsync(client, "/health/live");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(_authority.Certificate.Subject, served.Issuer);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, "/metrics")).Status);
    }

    [Fact]
    public async Task AnotherCaAnExpiredCertificateOrNoneIsRefused()
    {
        using var other = TestCertificateAuthority.Create("another CA");
        using var foreign = other.IssueClient();
        using var expired = _authority.IssueClient(notAfter: DateTimeOffset.UtcNow.AddDays(-1));
        using var serverOnly = _authority.IssueServer("prometheus", IPAddress.Loopback);
        await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(foreign, "/metrics"));
        await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(expired, "/metrics"));
        await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(null, "/metrics"));
        // A certificate of the right CA but issued for a server, not for client authentication.
        await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(serverOnly, "/metrics"));
    }

    [Fact]
    public async Task RotatedFilesAreServedAndTrustedWithoutARestart()
    {
        using var before = _authority.IssueClient();
        var (_, servedBefore) = await GetAsync(before, "/health/live");

        using var next = TestCertificateAuthority.Create("next management CA");
        WriteFiles(next, next);
        using var nextClient = next.IssueClient();
        var (status, servedAfter) = await GetAsync(nextClient, "/health/live");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.NotEqual(servedBefore.Thumbprint, servedAfter.Thumbprint);
        Assert.Equal(next.Certificate.Subject, servedAfter.Issuer);
        // The old CA left the bundle, so its clients are refused from now on.
        await Assert.ThrowsAsync<HttpRequestException>(() => GetAsync(before, "/health/live"));
    }

    [Fact]
    public async Task AHalfConfiguredOrPlainListenerStopsTheStartNamingTheKey()
    {
        var redis = await SharedServers.RedisAsync();
        var port = TestServers.FreePort().ToString(CultureInfo.InvariantCulture);
        await using var partial = new GatewayFactory(redis.ConnectionString, await Databases.SharedAsync(), new Settings()
            .With("Management:Urls", $"https://127.0.0.1:{port}")
            .With("Management:Tls:CertificateFile", CertificateFile));
        var missing = Assert.IsType<OptionsValidationException>(Assert.ThrowsAny<Exception>(() => partial.CreateClient()));
        Assert.Contains("Management:Tls:KeyFile is required when any of Management:Tls is set.", missing.Failures);
        Assert.Contains("Management:Tls:ClientCaFile is required when any of Management:Tls is set.", missing.Failures);

        await using var plain = new GatewayFactory(redis.ConnectionString, await Databases.SharedAsync(), Settings()
            .With("Management:Urls", $"http://127.0.0.1:{port}"));
        var http = Assert.IsType<OptionsValidationException>(Assert.ThrowsAny<Exception>(() => plain.CreateClient()));
        Assert.Contains("Management:Urls must all use https when Management:Tls is set.", http.Failures);
    }

    private Settings Settings() => new Settings()
        .With("Management:Urls", $"https://127.0.0.1:{_port.ToString(CultureInfo.InvariantCulture)}")
        .With("Management:Tls:CertificateFile", CertificateFile)
        .With("Management:Tls:KeyFile", KeyFile)
        .With("Management:Tls:ClientCaFile", CaFile)
        .With("Management:Tls:ReloadInterval", "00:00:00");

    /// <summary>The server certificate from <paramref name="issuer"/>, and <paramref name="clients"/> as the client CA bundle.</summary>
    private void WriteFiles(TestCertificateAuthority issuer, TestCertificateAuthority clients)
    {
        using var server = issuer.IssueServer("localhost", IPAddress.Loopback);
        TestCertificateAuthority.WritePem(server, CertificateFile, KeyFile);
        File.WriteAllText(CaFile, clients.CertificatePem);
    }

    /// <summary>A request on a new connection, with the certificate the server presented (checked against either test CA).</summary>
    private async Task<(HttpStatusCode Status, X509Certificate2 Served)> GetAsync(X509Certificate2? clientCertificate, string path)
    {
        X509Certificate2? served = null;
        using var handler = new SocketsHttpHandler();
        // Offered whatever issuers the server names, as Prometheus and kubectl offer theirs.
        handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate!;
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            served = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            return served is not null;
        };
        using var http = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{_port.ToString(CultureInfo.InvariantCulture)}") };
        using var response = await http.GetAsync(path);
        await response.Content.ReadAsByteArrayAsync();
        return (response.StatusCode, served!);
    }
}
