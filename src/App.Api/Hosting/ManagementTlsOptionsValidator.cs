using System.Security.Cryptography;
using App.Infrastructure.Telemetry;
using Microsoft.Extensions.Options;

namespace App.Api.Hosting;

/// <summary>Management:Tls is all or nothing, its files load, the served certificate is in date and every address is https.</summary>
internal sealed class ManagementTlsOptionsValidator(IConfiguration configuration, TimeProvider time) : IValidateOptions<ManagementTlsOptions>
{
    public ValidateOptionsResult Validate(string? name, ManagementTlsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var urls = ManagementEndpoint.Urls(configuration);
        if (!options.IsEnabled)
        {
            return urls.Any(IsHttps)
                ? ValidateOptionsResult.Fail($"Management:Urls uses https but {ManagementTlsOptions.Section}:CertificateFile, KeyFile and ClientCaFile are not set.")
                : ValidateOptionsResult.Success;
        }

        var errors = new List<string>();
        foreach (var (key, path) in new[] { ("CertificateFile", options.CertificateFile), ("KeyFile", options.KeyFile), ("ClientCaFile", options.ClientCaFile) })
        {
            if (string.IsNullOrWhiteSpace(path))
            {
                errors.Add($"{ManagementTlsOptions.Section}:{key} is required when any of {ManagementTlsOptions.Section} is set.");
            }
            else if (!File.Exists(path))
            {
                errors.Add($"{ManagementTlsOptions.Section}:{key}: the file '{path}' does not exist.");
            }
        }

        if (urls.Length == 0 || !urls.All(IsHttps))
        {
            errors.Add($"Management:Urls must all use https when {ManagementTlsOptions.Section} is set.");
        }

        if (options.ReloadInterval < TimeSpan.Zero)
        {
            errors.Add($"{ManagementTlsOptions.Section}:ReloadInterval must not be negative.");
        }

        if (errors.Count == 0)
        {
            try
            {
                var loaded = ManagementCertificates.Load(options);
                if (loaded.Server.NotAfter.ToUniversalTime() <= time.GetUtcNow().UtcDateTime)
                {
                    errors.Add($"{ManagementTlsOptions.Section}:CertificateFile: the certificate expired on {loaded.Server.NotAfter.ToUniversalTime():u}.");
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                errors.Add($"{ManagementTlsOptions.Section}: the certificate, key or client CA file could not be read as PEM: {ex.Message}");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsHttps(string url) => url.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
}
