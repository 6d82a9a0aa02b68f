using Microsoft.Extensions.Options;

namespace App.Infrastructure;

/// <summary>Checks <see cref="RedisOptions"/> at start-up, naming the key of every value out of range.</summary>
internal sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            errors.Add("Redis:ConnectionString is required.");
        }

        if (!string.IsNullOrWhiteSpace(options.CaCertificateFile))
        {
            if (!File.Exists(options.CaCertificateFile))
            {
                errors.Add($"Redis:CaCertificateFile: the file '{options.CaCertificateFile}' does not exist.");
            }
            else if (!string.IsNullOrWhiteSpace(options.ConnectionString) && !StackExchange.Redis.ConfigurationOptions.Parse(options.ConnectionString).Ssl)
            {
                errors.Add("Redis:CaCertificateFile is set but Redis:ConnectionString does not turn TLS on (ssl=true).");
            }
        }

        if (options.CommandTimeout <= TimeSpan.Zero)
        {
            errors.Add("Redis:CommandTimeout must be positive.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
