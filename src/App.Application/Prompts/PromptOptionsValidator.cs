using Microsoft.Extensions.Options;

namespace App.Application.Prompts;

/// <summary>Checks <see cref="PromptOptions"/> at start-up, naming the key of every value out of range.</summary>
public sealed class PromptOptionsValidator : IValidateOptions<PromptOptions>
{
    public ValidateOptionsResult Validate(string? name, PromptOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.RepairAttempts is not (0 or 1))
        {
            errors.Add("Prompts:RepairAttempts must be 0 or 1.");
        }

        if (options.RenderCacheSize < 1)
        {
            errors.Add("Prompts:RenderCacheSize must be at least 1.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
