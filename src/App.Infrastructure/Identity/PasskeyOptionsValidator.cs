using Microsoft.Extensions.Options;

namespace App.Infrastructure.Identity;

/// <summary>Checks <see cref="PasskeyOptions"/> at start-up, naming the key of every value out of range.</summary>
internal sealed class PasskeyOptionsValidator : IValidateOptions<PasskeyOptions>
{
    public ValidateOptionsResult Validate(string? name, PasskeyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.RelyingPartyId))
        {
            errors.Add("Passkeys:RelyingPartyId is required.");
        }

        if (options.Origins.Count == 0 || !options.Origins.All(x => Uri.TryCreate(x, UriKind.Absolute, out _)))
        {
            errors.Add("Passkeys:Origins must list absolute origins.");
        }

        if (options.CeremonyTimeout < TimeSpan.FromSeconds(30) || options.CeremonyTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add("Passkeys:CeremonyTimeout must be between 00:00:30 and 00:10:00.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
