using App.Application.Caching;
using App.Application.Embeddings;
using App.Application.Telemetry;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Caching;

/// <summary>
/// The embedding cache as the gateway sees it: vectors read from Redis are kept in this process's memory for
/// <c>Cache:Local:Ttl</c> within <c>Cache:Local:MaxBytes</c> (<see cref="HotEntries{T}"/>, the same rules as the
/// response cache), and a batch whose every item is kept here is answered without a round trip. A vector is the same
/// under its key for as long as it lives, so the only staleness is one kept here up to <c>Cache:Local:Ttl</c> after
/// Redis dropped it.
/// </summary>
internal sealed class LocalFirstEmbeddingCache : IEmbeddingCache, IDisposable
{
    private const int EntryOverhead = 192;

    private readonly IEmbeddingCache _store;
    private readonly IOptionsMonitor<CacheOptions> _options;
    private readonly TimeProvider _time;
    private readonly HotEntries<CachedEmbedding> _entries;

    public LocalFirstEmbeddingCache(IEmbeddingCache store, IOptionsMonitor<CacheOptions> options, TimeProvider time)
    {
        _store = store;
        _options = options;
        _time = time;
        _entries = new HotEntries<CachedEmbedding>(time, options.CurrentValue.Local.Ttl);
    }

    internal int Count => _entries.Count;

    public async ValueTask<CachedEmbedding?[]> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var options = _options.CurrentValue;
        if (!options.Local.Enabled)
        {
            return await _store.GetManyAsync(keys, cancellationToken).ConfigureAwait(false);
        }

        var found = new CachedEmbedding?[keys.Count];
        List<int>? missing = null;
        for (var i = 0; i < keys.Count; i++)
        {
            if (_entries.TryGet(keys[i], out var value))
            {
                found[i] = value;
            }
            else
            {
                (missing ??= []).Add(i);
            }
        }

        if (keys.Count - (missing?.Count ?? 0) is var local and > 0)
        {
            GatewayTelemetry.CacheLocalHits.Add(local);
        }

        if (missing is null)
        {
            return found;
        }

        var stored = await _store.GetManyAsync([.. missing.Select(i => keys[i])], cancellationToken).ConfigureAwait(false);
        var until = _time.GetUtcNow() + options.Local.Ttl;
        for (var j = 0; j < missing.Count; j++)
        {
            if (stored[j] is { } value)
            {
                var key = keys[missing[j]];
                found[missing[j]] = value;
                _entries.Keep(key, value, until, EntryOverhead + (2L * key.Length) + (4L * value.Vector.Length), options.Local.MaxBytes);
            }
        }

        return found;
    }

    public ValueTask SetManyAsync(IReadOnlyList<KeyValuePair<string, CachedEmbedding>> entries, TimeSpan ttl, CancellationToken cancellationToken) =>
        _store.SetManyAsync(entries, ttl, cancellationToken);

    public void Dispose() => _entries.Dispose();
}
