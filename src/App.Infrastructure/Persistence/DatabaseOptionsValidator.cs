using Microsoft.Extensions.Options;

namespace App.Infrastructure.Persistence;

/// <summary>Checks <see cref="DatabaseOptions"/> at start-up, naming the key of a value out of range.</summary>
internal sealed class DatabaseOptionsValidator : IValidateOptions<DatabaseOptions>
{
    public ValidateOptionsResult Validate(string? name, DatabaseOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.ConnectTimeout < TimeSpan.FromSeconds(1) || options.CommandTimeout < TimeSpan.FromSeconds(1))
        {
            errors.Add("Database:ConnectTimeout and Database:CommandTimeout must be at least 00:00:01.");
        }

        if (options.MaxPoolSize is < 1 or > 1000)
        {
            errors.Add("Database:MaxPoolSize must be between 1 and 1000.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
