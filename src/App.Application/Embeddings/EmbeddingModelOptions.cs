using App.Application.Routing;

namespace App.Application.Embeddings;

/// <summary><c>Embeddings:Models:&lt;alias&gt;</c>: one embedding model as clients see it.</summary>
public sealed class EmbeddingModelOptions
{
    /// <summary>Tried in order: the first is primary, the rest are fallbacks. They must return vectors of the same model.</summary>
    public List<DeploymentOptions> Deployments { get; init; } = [];

    /// <summary>The length of the vectors the model returns when <c>dimensions</c> is not asked for.</summary>
    public int Dimensions { get; init; }

    /// <summary>Whether the model shortens its vectors on request (<c>dimensions</c>), as OpenAI's text-embedding-3 models do.</summary>
    public bool SupportsDimensions { get; init; }
}
