using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using App.Application.Caching;
using App.Application.Telemetry;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Caching;

/// <summary>
/// The response cache as the gateway sees it: hot entries in this process's memory (<c>Cache:Local</c>) in front
/// of Redis. An entry read from Redis (so asked for at least twice) is kept here for <c>Cache:Local:Ttl</c>, never
/// past its own expiry in Redis, and the next hits on it are answered without a round trip. Writes go to Redis
/// only: a one-off answer does not take memory. Memory is bounded by <c>Cache:Local:MaxBytes</c>: when full, a
/// new entry is not kept until expired ones leave (swept every <c>Cache:Local:Ttl</c> as configured at start, at least 1 s, and at once when an entry
/// finds no room), so the entries that were hot first keep their place for at most one <c>Ttl</c>.
/// </summary>
internal sealed class LocalFirstResponseCache : IResponseCache, IDisposable
{
    // What an entry costs beyond its strings: the entry, the value, the dictionary node, string headers.
    private const int EntryOverhead = 256;

    private readonly IResponseCache _store;
    private readonly IOptionsMonitor<CacheOptions> _options;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ITimer _sweeper;
    private readonly Throttle _sweepWhenFull;
    private static readonly Meter Meter = new(GatewayTelemetry.SourceName);
    private static readonly LiveInstances<LocalFirstResponseCache> Instances = new();

    private readonly IDisposable _registration;
    private long _bytes;

    static LocalFirstResponseCache() =>
        Meter.CreateObservableGauge(
            "app.gateway.cache.local.size", () => Instances.Current.Sum(c => Interlocked.Read(ref c._bytes)), "By", "What the cache entries kept in this instance's memory (Cache:Local) take, as estimated from their text.");


    /// <param name="store">The shared store behind (the Redis cache).</param>
    /// <param name="options">The <c>Cache</c> section.</param>
    /// <param name="time">The clock entries expire by.</param>
    public LocalFirstResponseCache(IResponseCache store, IOptionsMonitor<CacheOptions> options, TimeProvider time)
    {
        _store = store;
        _options = options;
        _time = time;
        // A full cache of live entries is not walked on every miss.
        _sweepWhenFull = new Throttle(TimeSpan.FromSeconds(1), time);
        _registration = Instances.Add(this);
        var every = options.CurrentValue.Local.Ttl < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : options.CurrentValue.Local.Ttl;
        _sweeper = time.CreateTimer(_ => Sweep(), null, every, every);
    }

    /// <summary>What the kept entries take, as estimated (for tests and diagnostics).</summary>
    internal long Bytes => Interlocked.Read(ref _bytes);

    internal int Count => _entries.Count;

    public ValueTask<CachedCompletion?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var options = _options.CurrentValue;
        if (!options.Local.Enabled)
        {
            return _store.GetAsync(key, cancellationToken);
        }

        if (_entries.TryGetValue(key, out var entry))
        {
            if (entry.Until > _time.GetUtcNow())
            {
                GatewayTelemetry.CacheLocalHits.Add(1);
                return ValueTask.FromResult<CachedCompletion?>(entry.Value);
            }

            Remove(key, entry);
        }

        return FromStoreAsync(key, options, cancellationToken);
    }

    public ValueTask SetAsync(string key, CachedCompletion value, TimeSpan ttl, CancellationToken cancellationToken) =>
        _store.SetAsync(key, value, ttl, cancellationToken);

    public void Dispose()
    {
        _registration.Dispose();
        _sweeper.Dispose();
    }

    private async ValueTask<CachedCompletion?> FromStoreAsync(string key, CacheOptions options, CancellationToken cancellationToken)
    {
        var value = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (value is not null)
        {
            Keep(key, value, options);
        }

        return value;
    }

    private void Keep(string key, CachedCompletion value, CacheOptions options)
    {
        var now = _time.GetUtcNow();
        // Redis was given the entry with Cache:Ttl after it was created: it is gone from Redis no earlier than that.
        var until = Min(now + options.Local.Ttl, value.CreatedAt + options.Ttl);
        var size = EntryOverhead + 2L * (key.Length + value.Text.Length + value.Model.Length + value.FinishReason.Length);
        if (until <= now || size > options.Local.MaxBytes)
        {
            return;
        }

        if (!Reserve(size, options.Local.MaxBytes))
        {
            if (_sweepWhenFull.TryPass())
            {
                Sweep();
            }

            if (!Reserve(size, options.Local.MaxBytes))
            {
                return;
            }
        }

        var entry = new Entry(value, until, size);
        while (!_entries.TryAdd(key, entry))
        {
            if (_entries.TryGetValue(key, out var present) && present.Until > now)
            {
                // Another call kept it a moment ago.
                Interlocked.Add(ref _bytes, -size);
                return;
            }

            if (present is not null)
            {
                Remove(key, present);
            }
        }
    }

    private bool Reserve(long size, long max)
    {
        if (Interlocked.Add(ref _bytes, size) <= max)
        {
            return true;
        }

        Interlocked.Add(ref _bytes, -size);
        return false;
    }

    private void Remove(string key, Entry entry)
    {
        if (_entries.TryRemove(new KeyValuePair<string, Entry>(key, entry)))
        {
            Interlocked.Add(ref _bytes, -entry.Size);
        }
    }

    private void Sweep()
    {
        var now = _time.GetUtcNow();
        foreach (var (key, entry) in _entries)
        {
            if (entry.Until <= now)
            {
                Remove(key, entry);
            }
        }
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private sealed record Entry(CachedCompletion Value, DateTimeOffset Until, long Size);
}
