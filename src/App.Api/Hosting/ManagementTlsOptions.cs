namespace App.Api.Hosting;

/// <summary>
/// <c>Management:Tls</c>: mutual TLS on the management listener. With the three files set, the listener serves the
/// certificate and key (PEM) and admits only clients whose certificate chains to a CA of <c>ClientCaFile</c>; the files
/// are re-read every <c>ReloadInterval</c>, so a rotated certificate or CA takes effect without a restart.
/// </summary>
public sealed class ManagementTlsOptions
{
    public const string Section = "Management:Tls";

    /// <summary>The listener's certificate (PEM; the first certificate of the file is served).</summary>
    public string? CertificateFile { get; init; }

    /// <summary>Its private key (unencrypted PEM, as a Kubernetes TLS secret holds it).</summary>
    public string? KeyFile { get; init; }

    /// <summary>The CAs whose client certificates are admitted (PEM, one or more: old and new while a CA rotates).</summary>
    public string? ClientCaFile { get; init; }

    /// <summary>How often the files are read again for a rotation; zero reads them at every handshake.</summary>
    public TimeSpan ReloadInterval { get; init; } = TimeSpan.FromSeconds(30);

    public bool IsEnabled => !string.IsNullOrWhiteSpace(CertificateFile) || !string.IsNullOrWhiteSpace(KeyFile) || !string.IsNullOrWhiteSpace(ClientCaFile);
}
