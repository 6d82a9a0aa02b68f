using System.Net;
using System.Security.Authentication;
using App.Infrastructure;
using App.Infrastructure.Persistence;
using App.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace App.IntegrationTests;

/// <summary>
/// TLS to PostgreSQL and Redis with the server verified, through the service's own connection code (the Npgsql data
/// source and the Redis multiplexer as it registers them): a server whose certificate names the host and comes from the
/// configured CA is used over TLS; one reached under a name its certificate does not hold, or checked against another
/// CA, is refused in the handshake. Both servers are local ones with a certificate for "localhost" only, from a CA the
/// test makes.
/// </summary>
public sealed class DataStoreTlsTests(DataStoreTlsTests.Servers servers) : IClassFixture<DataStoreTlsTests.Servers>
{
    /// <summary>One PostgreSQL and one Redis with TLS from a test CA for the class, and a second CA to be refused.</summary>
    public sealed class Servers : IAsyncLifetime, IDisposable
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("app-store-tls-").FullName;
        private readonly TestCertificateAuthority _authority = TestCertificateAuthority.Create("data store CA");
        private readonly TestCertificateAuthority _other = TestCertificateAuthority.Create("another CA");

        public IPostgresServer Postgres { get; private set; } = null!;

        public IRedisServer Redis { get; private set; } = null!;

        public ServerTls Tls { get; private set; } = null!;

        public string OtherCaFile => Path.Combine(_directory, "other-ca.crt");

        public async Task InitializeAsync()
        {
            using var server = _authority.IssueServer("localhost");
            Tls = ServerTls.Write(_authority, server, _directory);
            await File.WriteAllTextAsync(OtherCaFile, _other.CertificatePem);
            Postgres = await TestServers.StartPostgresAsync(Tls);
            Redis = await TestServers.StartRedisAsync(Tls);
        }

        public async Task DisposeAsync()
        {
            await Redis.DisposeAsync();
            await Postgres.DisposeAsync();
        }

        public void Dispose()
        {
            _authority.Dispose();
            _other.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task AServerWhoseCertificateMatchesIsUsedOverTls()
    {
        await using var services = Services("localhost", servers.Tls.CaFile);
        await using (var connection = await services.GetRequiredService<NpgsqlDataSource>().OpenConnectionAsync())
        {
            await using var command = new NpgsqlCommand("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", connection);
            Assert.True((bool)(await command.ExecuteScalarAsync())!);
        }

        var redis = services.GetRequiredService<IConnectionMultiplexer>();
        await redis.GetDatabase().StringSetAsync("tls-probe", "ok");
        Assert.Equal("ok", (string?)await redis.GetDatabase().StringGetAsync("tls-probe"));
    }

    [Fact]
    public async Task AServerReachedUnderANameItsCertificateDoesNotHoldIsRefused()
    {
        await using var services = Services("127.0.0.1", servers.Tls.CaFile);
        await AssertRefusedAsync(services);
    }

    [Fact]
    public async Task AServerWhoseCertificateIsFromAnotherCaIsRefused()
    {
        await using var services = Services("localhost", servers.OtherCaFile);
        await AssertRefusedAsync(services);
    }

    [Fact]
    public void ARedisCaWithoutTlsStopsTheStartNamingTheKey()
    {
        using var services = Services("localhost", servers.Tls.CaFile, redisTls: false);
        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<RedisOptions>>().Value);
        Assert.Contains("Redis:CaCertificateFile is set but Redis:ConnectionString does not turn TLS on (ssl=true).", error.Failures);
    }

    private static async Task AssertRefusedAsync(ServiceProvider services)
    {
        var postgres = await Assert.ThrowsAnyAsync<NpgsqlException>(async () =>
        {
            await using var connection = await services.GetRequiredService<NpgsqlDataSource>().OpenConnectionAsync();
        });
        Assert.IsType<AuthenticationException>(postgres.InnerException);
        // A request meeting it answers 503 with Retry-After, counted as an outage, not a 500 per request.
        Assert.True(DatabaseOutage.IsUnavailable(postgres), "a refused TLS handshake is not taken for a database that is away");

        // The first connection attempt may still be under way: the reason is named once it has failed.
        var redis = services.GetRequiredService<IConnectionMultiplexer>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var refused = await Assert.ThrowsAsync<RedisConnectionException>(() => redis.GetDatabase().PingAsync());
            if (refused.ToString().Contains("AuthenticationFailure", StringComparison.Ordinal))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Redis was refused for another reason than the certificate: {refused.Message}");
            await Task.Delay(200);
        }

        Assert.False(redis.IsConnected);
    }

    /// <summary>The service's PostgreSQL and Redis registrations, configured for verify-full against the CA file given.</summary>
    private ServiceProvider Services(string host, string caFile, bool redisTls = true)
    {
        var postgres = new NpgsqlConnectionStringBuilder(servers.Postgres.AdminConnectionString)
        {
            Host = host,
            SslMode = SslMode.VerifyFull,
            RootCertificate = caFile,
        };
        var redisPort = ((DnsEndPoint)ConfigurationOptions.Parse(servers.Redis.ConnectionString).EndPoints[0]).Port;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = postgres.ConnectionString,
            ["Redis:ConnectionString"] = $"{host}:{redisPort}" + (redisTls ? ",ssl=true" : string.Empty),
            ["Redis:CaCertificateFile"] = caFile,
        }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging();
        services.AddRedis();
        services.AddPersistence();
        return services.BuildServiceProvider();
    }
}
