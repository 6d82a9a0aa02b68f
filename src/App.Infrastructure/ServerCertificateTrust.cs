using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace App.Infrastructure;

/// <summary>
/// Verifies a data store's TLS certificate against the CAs of a file of its own rather than the machine's store: the
/// name must match the host and the chain must end at one of those CAs (several while a CA rotates).
/// </summary>
internal static class ServerCertificateTrust
{
    public static X509Certificate2Collection Load(string caFile)
    {
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPemFile(caFile);
        return authorities.Count > 0 ? authorities : throw new InvalidOperationException($"The CA file '{caFile}' holds no certificate.");
    }

    public static RemoteCertificateValidationCallback Validator(X509Certificate2Collection authorities) => (_, certificate, _, errors) =>
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    };
}
