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

    /// <summary><c>Cache:Local</c>: hot entries kept in this process in front of Redis.</summary>
    public LocalCacheOptions Local { get; init; } = new();
}

/// <summary>
/// <c>Cache:Local</c>: an entry this instance reads from Redis is also kept in its memory for <see cref="Ttl"/>
/// (never past the entry's own expiry in Redis), so a hot answer is replayed without a round trip. Entries are
/// immutable under their key, so the only staleness is a deletion in Redis (a flush), seen here up to
/// <see cref="Ttl"/> late; bumping <c>Cache:Version</c> changes every key and takes effect at once.
/// </summary>
public sealed class LocalCacheOptions
{
    public bool Enabled { get; init; } = true;

    public TimeSpan Ttl { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>What the kept entries may take in memory, estimated from their text; when full, new ones wait for room.</summary>
    public long MaxBytes { get; init; } = 16 * 1024 * 1024;
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
