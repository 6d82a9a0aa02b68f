using System.Globalization;
using App.Application.Embeddings;
using App.Application.Routing;
using App.Infrastructure.Providers;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Resilience;

/// <summary>
/// The embedding routes read from <c>Embeddings:Models</c> at start-up, each deployment with its provider and
/// resilience pipeline. Offline deployments of one model share one <see cref="OfflineEmbeddingGenerator"/>, which
/// loads the model on its first call only, and run one batch at a time each.
/// </summary>
internal sealed class EmbeddingRoutes : IEmbeddingRoutes, IDisposable
{
    private readonly Dictionary<string, EmbeddingRoute> _routes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OfflineEmbeddingGenerator> _offline = new(StringComparer.Ordinal);

    public EmbeddingRoutes(IOptions<EmbeddingOptions> options, IOptions<LlmOptions> llm, ModelRoutes chat, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(llm);
        ArgumentNullException.ThrowIfNull(chat);
        foreach (var (alias, model) in options.Value.Models.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var deployments = new List<IEmbeddingDeployment>(model.Deployments.Count);
            for (var i = 0; i < model.Deployments.Count; i++)
            {
                var d = model.Deployments[i];
                var id = string.Create(CultureInfo.InvariantCulture, $"{alias}/{i}");
                var settings = (d.Resilience ?? new ResilienceOptions()).Resolve(llm.Value.Resilience);
                if (d.Provider == ProviderKinds.OpenAi)
                {
                    var upstream = new OpenAiCompatibleEmbeddings(chat.Http, d, time);
                    deployments.Add(new ResilientEmbeddingDeployment(id, d, settings, acceptsTokens: true, upstream.EmbedAsync, time));
                }
                else
                {
                    IEmbeddingGenerator<string, Embedding<float>> generator = Offline(d.Model);
                    // One batch at a time: the model already spreads a batch over every core, and each batch running
                    // holds a thread of the pool; the rest wait in the queue, and past it are told to come back.
                    var oneAtATime = settings with { MaxConcurrency = 1 };
                    deployments.Add(new ResilientEmbeddingDeployment(id, d, oneAtATime, acceptsTokens: false, (items, _, token) => EmbedTextAsync(generator, items, token), time));
                }
            }

            _routes[alias] = new EmbeddingRoute(deployments, model.Dimensions, model.SupportsDimensions);
        }
    }

    public IReadOnlyCollection<string> Aliases => _routes.Keys;

    /// <summary>The offline models of the routes, by model name (for tests of the lazy load).</summary>
    public IReadOnlyDictionary<string, OfflineEmbeddingGenerator> OfflineModels => _offline;

    public string OwnedBy(string modelAlias) =>
        _routes.TryGetValue(modelAlias, out var route) && route.Deployments[0].Provider == ProviderKinds.Offline ? "app-offline" : "app";

    public bool TryGetRoute(string modelAlias, out EmbeddingRoute route) => _routes.TryGetValue(modelAlias, out route!);

    public void Dispose()
    {
        foreach (var deployment in _routes.Values.SelectMany(r => r.Deployments).OfType<IDisposable>())
        {
            deployment.Dispose();
        }

        foreach (var generator in _offline.Values)
        {
            generator.Dispose();
        }
    }

    private OfflineEmbeddingGenerator Offline(string model)
    {
        if (!_offline.TryGetValue(model, out var generator))
        {
            _offline[model] = generator = new OfflineEmbeddingGenerator(model);
        }

        return generator;
    }

    /// <summary>A text-only provider through the Microsoft.Extensions.AI seam.</summary>
    private static async Task<EmbeddingBatch> EmbedTextAsync(IEmbeddingGenerator<string, Embedding<float>> generator, IReadOnlyList<EmbeddingItem> items, CancellationToken cancellationToken)
    {
        var embeddings = await generator.GenerateAsync(items.Select(i => i.Text!), cancellationToken: cancellationToken).ConfigureAwait(false);
        return new EmbeddingBatch([.. embeddings.Select(e => e.Vector.ToArray())], embeddings.Usage?.InputTokenCount, embeddings.FirstOrDefault()?.ModelId);
    }
}
