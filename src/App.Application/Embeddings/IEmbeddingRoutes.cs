namespace App.Application.Embeddings;

/// <summary>Resolves embedding model aliases to their routes.</summary>
public interface IEmbeddingRoutes
{
    IReadOnlyCollection<string> Aliases { get; }

    bool TryGetRoute(string modelAlias, out EmbeddingRoute route);
}
