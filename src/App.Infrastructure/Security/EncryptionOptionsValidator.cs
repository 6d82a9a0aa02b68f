using Microsoft.Extensions.Options;

namespace App.Infrastructure.Security;

internal sealed class EncryptionOptionsValidator : IValidateOptions<EncryptionOptions>
{
    public ValidateOptionsResult Validate(string? name, EncryptionOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ActiveKey))
        {
            errors.Add("Encryption:ActiveKey is required (the id of one of Encryption:Keys).");
        }
        else if (!options.Keys.ContainsKey(options.ActiveKey))
        {
            errors.Add($"Encryption:ActiveKey '{options.ActiveKey}' is not one of Encryption:Keys.");
        }

        if (options.DataKeyCache < TimeSpan.Zero || options.DataKeyCache > TimeSpan.FromHours(1))
        {
            errors.Add("Encryption:DataKeyCache must be between 00:00:00 and 01:00:00.");
        }

        var buffer = new byte[64];
        foreach (var (id, value) in options.Keys)
        {
            if (id.Length is 0 or > 32 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                errors.Add($"Encryption:Keys:{id}: key ids are 1-32 letters, digits, '-' or '_'.");
            }

            if (!Convert.TryFromBase64String(value, buffer, out var length) || length != 32)
            {
                errors.Add($"Encryption:Keys:{id} must be base64 of exactly 32 bytes (e.g. openssl rand -base64 32).");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
