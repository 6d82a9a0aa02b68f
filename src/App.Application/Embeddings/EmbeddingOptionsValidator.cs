using System.Globalization;
using App.Application.Routing;
using Microsoft.Extensions.Options;

namespace App.Application.Embeddings;

/// <summary>Fails start-up naming the exact <c>Embeddings</c> key that is wrong.</summary>
public sealed class EmbeddingOptionsValidator : IValidateOptions<EmbeddingOptions>
{
    public ValidateOptionsResult Validate(string? name, EmbeddingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.MaxItems is < 1 or > 100_000)
        {
            errors.Add("Embeddings:MaxItems must be between 1 and 100000.");
        }

        if (options.MaxItemChars is < 1 or > 1_000_000)
        {
            errors.Add("Embeddings:MaxItemChars must be between 1 and 1000000.");
        }

        if (options.MaxItemTokens is < 1 or > 1_000_000)
        {
            errors.Add("Embeddings:MaxItemTokens must be between 1 and 1000000.");
        }

        if (options.CacheTtl <= TimeSpan.Zero)
        {
            errors.Add("Embeddings:CacheTtl must be positive.");
        }

        foreach (var (alias, model) in options.Models)
        {
            var prefix = $"Embeddings:Models:{alias}";
            if (!ModelAlias.IsValid(alias))
            {
                errors.Add($"{prefix}: the alias must be 1-64 characters of letters, digits, '.', '-', '_' or '/'.");
            }

            if (model.Dimensions is < 1 or > 65_536)
            {
                errors.Add($"{prefix}:Dimensions must be between 1 and 65536 (the length of the model's vectors).");
            }

            if (model.Deployments.Count == 0)
            {
                errors.Add($"{prefix}:Deployments must list at least one deployment.");
            }

            for (var i = 0; i < model.Deployments.Count; i++)
            {
                var key = string.Create(CultureInfo.InvariantCulture, $"{prefix}:Deployments:{i}");
                LlmOptionsValidator.ValidateDeployment(key, $"Embeddings__Models__{alias}__Deployments__{i}", model.Deployments[i], errors);
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
