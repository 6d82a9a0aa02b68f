namespace App.Application.Embeddings;

/// <summary>An embedding model alias: its deployments in order, and the vectors it returns.</summary>
public sealed record EmbeddingRoute(IReadOnlyList<IEmbeddingDeployment> Deployments, int Dimensions, bool SupportsDimensions);
