using Microsoft.Extensions.Options;

namespace App.Application.Rum;

/// <summary>Checks <see cref="RumOptions"/> at start-up, naming the key of every value out of range.</summary>
public sealed class RumOptionsValidator : IValidateOptions<RumOptions>
{
    public ValidateOptionsResult Validate(string? name, RumOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.PermitsPerMinute is < 1 or > 10_000
            ? ValidateOptionsResult.Fail("Rum:PermitsPerMinute must be between 1 and 10000.")
            : ValidateOptionsResult.Success;
    }
}
