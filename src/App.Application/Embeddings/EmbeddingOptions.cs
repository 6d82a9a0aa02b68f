namespace App.Application.Embeddings;

/// <summary><c>Embeddings</c>: the embedding models (<c>POST /v1/embeddings</c>), their limits and their cache.</summary>
public sealed class EmbeddingOptions
{
    public const string Section = "Embeddings";

    /// <summary>Model aliases clients name in <c>model</c>, each with its ordered deployments.</summary>
    public Dictionary<string, EmbeddingModelOptions> Models { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Items one request may hold (OpenAI's own limit is 2048).</summary>
    public int MaxItems { get; init; } = 2048;

    /// <summary>Characters one text item may hold.</summary>
    public int MaxItemChars { get; init; } = 32_768;

    /// <summary>Tokens one token-array item may hold.</summary>
    public int MaxItemTokens { get; init; } = 8192;

    /// <summary>Whether vectors are kept per item (in Redis, behind <c>Cache:Local</c>); <c>Cache:Enabled</c> off turns this off too.</summary>
    public bool CacheEnabled { get; init; } = true;

    /// <summary>How long a cached vector lives in Redis.</summary>
    public TimeSpan CacheTtl { get; init; } = TimeSpan.FromDays(7);
}
