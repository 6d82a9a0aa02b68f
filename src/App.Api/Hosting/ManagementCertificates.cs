using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace App.Api.Hosting;

/// <summary>
/// The management listener's certificate and client CAs, read from their files and read again when they change, so
/// that a rotation (cert-manager renewing a secret, a CA bundle gaining its successor) needs no restart.
/// </summary>
internal sealed partial class ManagementCertificates(ManagementTlsOptions options, ManagementCertificates.Loaded initial, TimeProvider time, ILogger logger)
{
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");
    private readonly Lock _gate = new();
    private Loaded _current = initial;
    private long _checkedAt = time.GetTimestamp();
    private int _refused;
    private string _lastRefusal = "";

    /// <summary>What the files held when last read: the text, to see a change, and what was parsed from it.</summary>
    internal sealed record Loaded(string Text, X509Certificate2 Server, X509Certificate2Collection Authorities);

    public static ManagementCertificates Create(ManagementTlsOptions options, TimeProvider time, ILogger logger) =>
        new(options, Load(options), time, logger);

    /// <summary>Reads and parses the three files; throws naming the file that is wrong.</summary>
    public static Loaded Load(ManagementTlsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var certificate = File.ReadAllText(options.CertificateFile!);
        var key = File.ReadAllText(options.KeyFile!);
        var authorities = File.ReadAllText(options.ClientCaFile!);
        return Parse(certificate, key, authorities);
    }

    public void Apply(HttpsConnectionAdapterOptions https)
    {
        https.ServerCertificateSelector = (_, _) => Current().Server;
        https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
        // The chain is built here against the configured CAs only; revocation is left to short-lived certificates.
        https.CheckCertificateRevocation = false;
        https.ClientCertificateValidation = (certificate, _, _) => IsTrusted(certificate);
    }

    /// <summary>True when the client certificate is in date, meant for client authentication and chains to a configured CA.</summary>
    public bool IsTrusted(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(Current().Authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(ClientAuthentication);
        chain.ChainPolicy.VerificationTime = time.GetUtcNow().UtcDateTime;
        var trusted = chain.Build(certificate);
        if (!trusted)
        {
            Volatile.Write(ref _lastRefusal, string.Join(", ", chain.ChainStatus.Select(s => s.Status)));
            Interlocked.Increment(ref _refused);
        }

        foreach (var element in chain.ChainElements)
        {
            if (!ReferenceEquals(element.Certificate, certificate))
            {
                element.Certificate.Dispose();
            }
        }

        return trusted;
    }

    /// <summary>The files as last read, read again once the interval has passed; a file caught half-written keeps the old ones.</summary>
    private Loaded Current()
    {
        if (time.GetElapsedTime(Volatile.Read(ref _checkedAt)) < options.ReloadInterval)
        {
            return Volatile.Read(ref _current);
        }

        lock (_gate)
        {
            if (time.GetElapsedTime(_checkedAt) < options.ReloadInterval)
            {
                return _current;
            }

            try
            {
                var certificate = File.ReadAllText(options.CertificateFile!);
                var key = File.ReadAllText(options.KeyFile!);
                var authorities = File.ReadAllText(options.ClientCaFile!);
                if (!string.Equals(certificate + key + authorities, _current.Text, StringComparison.Ordinal))
                {
                    // The previous certificate is left to the collector: a handshake may still be using it.
                    Volatile.Write(ref _current, Parse(certificate, key, authorities));
                    LogReloaded(logger, _current.Server.Subject, _current.Server.NotAfter, _current.Authorities.Count);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                LogReloadFailed(logger, ex.Message);
            }

            if (Interlocked.Exchange(ref _refused, 0) is var refused and > 0)
            {
                LogRefused(logger, refused, _lastRefusal);
            }

            Volatile.Write(ref _checkedAt, time.GetTimestamp());
            return _current;
        }
    }

    private static Loaded Parse(string certificate, string key, string authorities)
    {
        using var ephemeral = X509Certificate2.CreateFromPem(certificate, key);
        // Re-imported so the key is usable by TLS on every platform, not only where ephemeral keys are.
        var server = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
        var collection = new X509Certificate2Collection();
        collection.ImportFromPem(authorities);
        if (collection.Count == 0)
        {
            throw new CryptographicException("The client CA file holds no certificate.");
        }

        return new Loaded(certificate + key + authorities, server, collection);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Management TLS files reloaded: serving {Subject} (until {NotAfter:u}), {AuthorityCount} client CAs")]
    private static partial void LogReloaded(ILogger logger, string subject, DateTime notAfter, int authorityCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Management TLS files could not be reloaded, the previous ones stay in use: {Reason}")]
    private static partial void LogReloadFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} management client certificates refused since the last check (the last: {Status})")]
    private static partial void LogRefused(ILogger logger, int count, string status);
}
