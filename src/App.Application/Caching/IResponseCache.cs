namespace App.Application.Caching;

/// <summary>
/// The port the gateway caches through. Implementations never throw for an unavailable store: a failed read
/// is a miss, a failed write is dropped, and both are counted and logged by the adapter.
/// </summary>
public interface IResponseCache
{
    ValueTask<CachedCompletion?> GetAsync(string key, CancellationToken cancellationToken);

    ValueTask SetAsync(string key, CachedCompletion value, TimeSpan ttl, CancellationToken cancellationToken);
}
