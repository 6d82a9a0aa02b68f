namespace App.Application.Semantic;

/// <summary>Where the entries of each partition live. Like the other caches, it never throws for an unavailable store.</summary>
public interface ISemanticStore
{
    /// <summary>The partition's entries, newest first; empty when there are none or the store is unavailable.</summary>
    ValueTask<IReadOnlyList<SemanticEntry>> ReadAsync(string partition, CancellationToken cancellationToken);

    /// <summary>Adds an entry, keeping the newest <paramref name="maxEntries"/>; the partition lives <paramref name="ttl"/> from now.</summary>
    ValueTask AddAsync(string partition, SemanticEntry entry, int maxEntries, TimeSpan ttl);
}
