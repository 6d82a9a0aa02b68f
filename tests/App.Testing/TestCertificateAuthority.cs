using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace App.Testing;

/// <summary>
/// A certificate authority made by the test (ECDSA P-256), issuing server and client certificates with the validity,
/// names and usages a test asks for, and writing them as the PEM files servers read.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private TestCertificateAuthority(X509Certificate2 certificate) => Certificate = certificate;

    public X509Certificate2 Certificate { get; }

    public string CertificatePem => Certificate.ExportCertificatePem();

    public static TestCertificateAuthority Create(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return new TestCertificateAuthority(request.CreateSelfSigned(now.AddDays(-30), now.AddYears(5)));
    }

    /// <summary>A server certificate naming the host <paramref name="name"/> and the addresses given, and nothing else.</summary>
    public X509Certificate2 IssueServer(string name, params IPAddress[] addresses) =>
        Issue(name, "1.3.6.1.5.5.7.3.1", null, san =>
        {
            san.AddDnsName(name);
            foreach (var address in addresses)
            {
                san.AddIpAddress(address);
            }
        });

    /// <summary>A client certificate; an expired one with <paramref name="notAfter"/> in the past.</summary>
    public X509Certificate2 IssueClient(string name = "prometheus", DateTimeOffset? notAfter = null) =>
        Issue(name, "1.3.6.1.5.5.7.3.2", notAfter, san => san.AddDnsName(name));

    /// <summary>Writes the certificate and its key as PEM files (key readable by its owner only, as servers insist).</summary>
    public static void WritePem(X509Certificate2 certificate, string certificateFile, string keyFile)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        using var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("The certificate has no ECDSA key.");
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    public void Dispose() => Certificate.Dispose();

    private X509Certificate2 Issue(string name, string usage, DateTimeOffset? notAfter, Action<SubjectAlternativeNameBuilder> names)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        var san = new SubjectAlternativeNameBuilder();
        names(san);
        request.CertificateExtensions.Add(san.Build());
        var now = DateTimeOffset.UtcNow;
        var end = notAfter ?? now.AddDays(30);
        var start = end < now ? end.AddDays(-20) : now.AddDays(-1);
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var issued = request.Create(Certificate, start, end, serial);
        return issued.CopyWithPrivateKey(key);
    }
}
