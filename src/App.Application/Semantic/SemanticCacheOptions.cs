namespace App.Application.Semantic;

/// <summary>
/// <c>Cache:Semantic</c>: the semantic cache for chat, off by default and opted in per model alias and per tenant; the
/// rules of which requests may use it and how close a question must be.
/// </summary>
public sealed class SemanticCacheOptions
{
    public const string Section = "Cache:Semantic";

    public bool Enabled { get; init; }

    /// <summary>The chat model aliases that use it.</summary>
    public List<string> Models { get; init; } = [];

    /// <summary>The tenants that use it.</summary>
    public List<string> Tenants { get; init; } = [];

    /// <summary>The alias of <c>Embeddings:Models</c> that embeds the questions.</summary>
    public string EmbeddingModel { get; init; } = "minilm";

    /// <summary>How long a partition lives in Redis after its last new entry.</summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromHours(1);

    /// <summary>The lowest threshold there may be; a request may raise it, never lower it.</summary>
    public const double MinimumThreshold = 0.95;

    /// <summary>Cosine similarity of the questions' vectors at or above which a verified entry is served.</summary>
    public double Threshold { get; init; } = MinimumThreshold;

    /// <summary>Messages in the conversation, the question included; longer conversations never use the semantic cache.</summary>
    public int MaxMessages { get; init; } = 4;

    /// <summary>Characters of the question; longer questions never use the semantic cache.</summary>
    public int MaxQuestionChars { get; init; } = 1000;

    /// <summary>Whether sampled requests (no <c>temperature: 0</c>, no <c>seed</c>) may use it.</summary>
    public bool AllowNonDeterministic { get; init; }

    /// <summary>Entries one partition keeps (the newest); a search scans at most this many vectors.</summary>
    public int MaxEntriesPerPartition { get; init; } = 256;

    /// <summary>The threshold for one request: the configured one, or the request's if it is higher.</summary>
    public double EffectiveThreshold(double? requested) =>
        Math.Max(Math.Max(Threshold, MinimumThreshold), requested ?? 0);
}
