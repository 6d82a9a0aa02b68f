using Microsoft.Extensions.Options;

namespace App.Application.Caching;

/// <summary>Checks <see cref="CacheOptions"/> at start-up, naming the key of every value out of range.</summary>
public sealed class CacheOptionsValidator : IValidateOptions<CacheOptions>
{
    public ValidateOptionsResult Validate(string? name, CacheOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.Ttl <= TimeSpan.Zero)
        {
            errors.Add("Cache:Ttl must be positive.");
        }

        if (options.MaxEntryBytes <= 0)
        {
            errors.Add("Cache:MaxEntryBytes must be positive.");
        }

        if (string.IsNullOrEmpty(options.KeyPrefix))
        {
            errors.Add("Cache:KeyPrefix must not be empty.");
        }

        if (options.Local.Ttl < TimeSpan.FromMilliseconds(10) || options.Local.Ttl > TimeSpan.FromHours(1))
        {
            errors.Add("Cache:Local:Ttl must be between 10 ms and 1 hour.");
        }

        if (options.Local.MaxBytes is < 0 or > 16L * 1024 * 1024 * 1024)
        {
            errors.Add("Cache:Local:MaxBytes must be between 0 and 16 GiB.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
