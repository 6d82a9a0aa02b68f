namespace App.Testing;

/// <summary>The PEM files a test server listens with over TLS: its certificate, its key and the CA that issued it.</summary>
public sealed record ServerTls(string CertificateFile, string KeyFile, string CaFile)
{
    /// <summary>Writes a server certificate from <paramref name="authority"/> (and the CA) into <paramref name="directory"/>.</summary>
    public static ServerTls Write(TestCertificateAuthority authority, System.Security.Cryptography.X509Certificates.X509Certificate2 server, string directory)
    {
        ArgumentNullException.ThrowIfNull(authority);
        var tls = new ServerTls(Path.Combine(directory, "server.crt"), Path.Combine(directory, "server.key"), Path.Combine(directory, "ca.crt"));
        TestCertificateAuthority.WritePem(server, tls.CertificateFile, tls.KeyFile);
        File.WriteAllText(tls.CaFile, authority.CertificatePem);
        return tls;
    }
}
