namespace App.Application.Caching;

/// <summary><c>Cache</c>: the exact-match response cache.</summary>
public sealed class CacheOptions
{
    public const string Section = "Cache";

    public bool Enabled { get; init; } = true;

    /// <summary>
    /// Cache only requests whose output is meant to be reproducible: an explicit <c>temperature: 0</c> or a
    /// <c>seed</c>. Turning this off caches sampled answers too, which then stop varying between calls.
    /// </summary>
    public bool RequireDeterministic { get; init; } = true;

    public TimeSpan Ttl { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Bumping it invalidates every entry at once (old keys simply stop being read).</summary>
    public int Version { get; init; } = 1;

    /// <summary>Responses larger than this are not stored.</summary>
    public int MaxEntryBytes { get; init; } = 256 * 1024;

    public string KeyPrefix { get; init; } = "llm:cache:";
}

/// <summary>A completed answer as the cache stores it: enough to replay it as JSON or as a stream.</summary>
public sealed record CachedCompletion(
    string Text,
    string FinishReason,
    string Model,
    long InputTokens,
    long OutputTokens,
    DateTimeOffset CreatedAt);

/// <summary>
/// The port the gateway caches through. Implementations never throw for an unavailable store: a failed read
/// is a miss, a failed write is dropped, and both are counted and logged by the adapter.
/// </summary>
public interface IResponseCache
{
    ValueTask<CachedCompletion?> GetAsync(string key, CancellationToken cancellationToken);

    ValueTask SetAsync(string key, CachedCompletion value, TimeSpan ttl, CancellationToken cancellationToken);
}
