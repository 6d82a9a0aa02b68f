namespace App.Application.Embeddings;

/// <summary>Resolves embedding model aliases to their routes.</summary>
public interface IEmbeddingRoutes
{
    IReadOnlyCollection<string> Aliases { get; }

    /// <summary>Shown in <c>GET /v1/models</c> as <c>owned_by</c>.</summary>
    string OwnedBy(string modelAlias);

    bool TryGetRoute(string modelAlias, out EmbeddingRoute route);
}
