using Microsoft.Extensions.Options;

namespace App.Application.Semantic;

/// <summary>Fails start-up naming the <c>Cache:Semantic</c> key that is out of range.</summary>
public sealed class SemanticCacheOptionsValidator : IValidateOptions<SemanticCacheOptions>
{
    public ValidateOptionsResult Validate(string? name, SemanticCacheOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.Threshold is < SemanticCacheOptions.MinimumThreshold or > 1)
        {
            errors.Add("Cache:Semantic:Threshold must be between 0.95 and 1: below it, paraphrases and negations are no longer told apart by similarity.");
        }

        if (options.MaxMessages is < 1 or > 64)
        {
            errors.Add("Cache:Semantic:MaxMessages must be between 1 and 64.");
        }

        if (options.MaxQuestionChars is < 1 or > 100_000)
        {
            errors.Add("Cache:Semantic:MaxQuestionChars must be between 1 and 100000.");
        }

        if (options.MaxEntriesPerPartition is < 1 or > 10_000)
        {
            errors.Add("Cache:Semantic:MaxEntriesPerPartition must be between 1 and 10000.");
        }

        if (options.Ttl <= TimeSpan.Zero)
        {
            errors.Add("Cache:Semantic:Ttl must be positive.");
        }

        if (options.Enabled && string.IsNullOrWhiteSpace(options.EmbeddingModel))
        {
            errors.Add("Cache:Semantic:EmbeddingModel must name an alias of Embeddings:Models.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
