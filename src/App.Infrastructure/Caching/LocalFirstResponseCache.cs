using App.Application.Caching;
using App.Application.Telemetry;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Caching;

/// <summary>
/// The response cache as the gateway sees it: hot entries in this process's memory (<c>Cache:Local</c>) in front
/// of Redis. An entry read from Redis (so asked for at least twice) is kept here for <c>Cache:Local:Ttl</c>, never
/// past its own expiry in Redis, and the next hits on it are answered without a round trip. Writes go to Redis
/// only: a one-off answer does not take memory. Memory is bounded by <c>Cache:Local:MaxBytes</c>
/// (<see cref="HotEntries{T}"/>).
/// </summary>
internal sealed class LocalFirstResponseCache : IResponseCache, IDisposable
{
    // What an entry costs beyond its strings: the entry, the value, the dictionary node, string headers.
    private const int EntryOverhead = 256;

    private readonly IResponseCache _store;
    private readonly IOptionsMonitor<CacheOptions> _options;
    private readonly TimeProvider _time;
    private readonly HotEntries<CachedCompletion> _entries;

    /// <param name="store">The shared store behind (the Redis cache).</param>
    /// <param name="options">The <c>Cache</c> section.</param>
    /// <param name="time">The clock entries expire by.</param>
    public LocalFirstResponseCache(IResponseCache store, IOptionsMonitor<CacheOptions> options, TimeProvider time)
    {
        _store = store;
        _options = options;
        _time = time;
        _entries = new HotEntries<CachedCompletion>(time, options.CurrentValue.Local.Ttl);
    }

    /// <summary>What the kept entries take, as estimated (for tests and diagnostics).</summary>
    internal long Bytes => _entries.Bytes;

    internal int Count => _entries.Count;

    public ValueTask<CachedCompletion?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var options = _options.CurrentValue;
        if (!options.Local.Enabled)
        {
            return _store.GetAsync(key, cancellationToken);
        }

        if (_entries.TryGet(key, out var value))
        {
            GatewayTelemetry.CacheLocalHits.Add(1);
            return ValueTask.FromResult<CachedCompletion?>(value);
        }

        return FromStoreAsync(key, options, cancellationToken);
    }

    public ValueTask SetAsync(string key, CachedCompletion value, TimeSpan ttl, CancellationToken cancellationToken) =>
        _store.SetAsync(key, value, ttl, cancellationToken);

    public void Dispose() => _entries.Dispose();

    private async ValueTask<CachedCompletion?> FromStoreAsync(string key, CacheOptions options, CancellationToken cancellationToken)
    {
        var value = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (value is not null)
        {
            // Redis was given the entry with Cache:Ttl after it was created: it is gone from Redis no earlier than that.
            var until = Min(_time.GetUtcNow() + options.Local.Ttl, value.CreatedAt + options.Ttl);
            var size = EntryOverhead + 2L * (key.Length + value.Text.Length + value.Model.Length + value.FinishReason.Length);
            _entries.Keep(key, value, until, size, options.Local.MaxBytes);
        }

        return value;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
