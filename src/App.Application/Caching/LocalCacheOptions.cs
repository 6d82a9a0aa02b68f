namespace App.Application.Caching;

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
