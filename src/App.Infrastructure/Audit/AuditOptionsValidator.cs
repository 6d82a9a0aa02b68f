using Microsoft.Extensions.Options;

namespace App.Infrastructure.Audit;

/// <summary>Checks <see cref="AuditOptions"/> at start-up, naming the key of a value out of range.</summary>
internal sealed class AuditOptionsValidator : IValidateOptions<AuditOptions>
{
    public ValidateOptionsResult Validate(string? name, AuditOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.CheckpointInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add("Audit:CheckpointInterval must be at least 00:00:01.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
