using Microsoft.Extensions.Options;

namespace App.Api.Hosting.WarmUp;

/// <summary>Checks <see cref="WarmUpOptions"/> at start-up, naming the key of every value out of range.</summary>
internal sealed class WarmUpOptionsValidator : IValidateOptions<WarmUpOptions>
{
    public ValidateOptionsResult Validate(string? name, WarmUpOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.Enabled && string.IsNullOrWhiteSpace(options.Model))
        {
            errors.Add("WarmUp:Model must name a model alias (Llm:Models) when WarmUp:Enabled is true.");
        }

        if (options.Concurrency is < 1 or > 64)
        {
            errors.Add("WarmUp:Concurrency must be between 1 and 64.");
        }

        if (options.SettledBelow < 1)
        {
            errors.Add("WarmUp:SettledBelow must be at least 1.");
        }

        if (options.MaxDuration < TimeSpan.FromSeconds(1) || options.MaxDuration > TimeSpan.FromMinutes(2))
        {
            errors.Add("WarmUp:MaxDuration must be between 1 second and 2 minutes.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
