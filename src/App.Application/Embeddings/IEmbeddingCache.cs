namespace App.Application.Embeddings;

/// <summary>
/// The per-item vector cache. Like the response cache, it never throws for an unavailable store: a failed read is a
/// miss, a failed write is dropped, and both are counted and logged by the adapter.
/// </summary>
public interface IEmbeddingCache
{
    /// <summary>One entry per key, in order; null where there is none.</summary>
    ValueTask<CachedEmbedding?[]> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);

    ValueTask SetManyAsync(IReadOnlyList<KeyValuePair<string, CachedEmbedding>> entries, TimeSpan ttl, CancellationToken cancellationToken);
}
