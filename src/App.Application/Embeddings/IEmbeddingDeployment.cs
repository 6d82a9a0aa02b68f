namespace App.Application.Embeddings;

/// <summary>
/// One deployment of an embedding model: a provider behind its own timeouts and retries. Failures surface as
/// <see cref="Gateway.UpstreamException"/>.
/// </summary>
public interface IEmbeddingDeployment
{
    /// <summary>Stable id, e.g. <c>minilm/0</c>: the alias and the position in its route.</summary>
    string Id { get; }

    string Provider { get; }

    string Model { get; }

    /// <summary>Whether the provider takes token arrays (an OpenAI-compatible endpoint does; the offline model reads text only).</summary>
    bool AcceptsTokens { get; }

    Task<EmbeddingBatch> EmbedAsync(IReadOnlyList<EmbeddingItem> items, int? dimensions, CancellationToken cancellationToken);
}
