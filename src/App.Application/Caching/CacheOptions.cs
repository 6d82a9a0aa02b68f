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
