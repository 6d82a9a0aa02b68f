using App.Application.Caching;
using App.Application.Calls;
using App.Application.Embeddings;
using App.Application.Gateway;
using Microsoft.Extensions.Options;

namespace App.Application.Semantic;

/// <summary>
/// The semantic cache for chat: for an opted-in alias and tenant, the question (the last user message) is embedded
/// with <see cref="SemanticCacheOptions.EmbeddingModel"/> (through the embedding cache), the request's hard partition
/// (<see cref="SemanticPartition"/>) is read, its nearest entry found by an exact scan (<see cref="SemanticIndex"/>)
/// and served only at or above the threshold and when the verifier agrees. Anything that fails is a miss.
/// </summary>
public sealed class SemanticChatCache(
    ISemanticStore store,
    EmbeddingGateway embeddings,
    IEmbeddingRoutes embeddingRoutes,
    IOptionsMonitor<SemanticCacheOptions> options,
    IOptionsMonitor<CacheOptions> cacheOptions) : ISemanticCache
{
    public async ValueTask<CachedCompletion?> FindAsync(GatewayRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var rules = options.CurrentValue;
        if (Partition(request, rules) is not { } partition || SemanticPartition.Question(request.Messages, request.Options, rules) is not { } question)
        {
            return null;
        }

        var entries = await store.ReadAsync(partition, cancellationToken).ConfigureAwait(false);
        if (entries.Count == 0 || await EmbedAsync(request, question, rules, cancellationToken).ConfigureAwait(false) is not { } vector)
        {
            return null;
        }

        var (index, similarity) = SemanticIndex.Nearest(vector, [.. entries.Select(e => e.Vector)]);
        return index >= 0 && SemanticIndex.Serves(similarity, rules.EffectiveThreshold(request.SemanticThreshold), entries[index].Question, question) ? entries[index].Answer : null;
    }

    public async ValueTask AddAsync(GatewayRequest request, CachedCompletion answer)
    {
        ArgumentNullException.ThrowIfNull(request);
        var rules = options.CurrentValue;
        if (Partition(request, rules) is not { } partition || SemanticPartition.Question(request.Messages, request.Options, rules) is not { } question)
        {
            return;
        }

        if (await EmbedAsync(request, question, rules, CancellationToken.None).ConfigureAwait(false) is { } vector)
        {
            await store.AddAsync(partition, new SemanticEntry(question, vector, answer), rules.MaxEntriesPerPartition, rules.Ttl).ConfigureAwait(false);
        }
    }

    private string? Partition(GatewayRequest request, SemanticCacheOptions rules)
    {
        var cache = cacheOptions.CurrentValue;
        if (!rules.Enabled || !cache.Enabled || !rules.Models.Contains(request.Alias, StringComparer.Ordinal)
            || !rules.Tenants.Any(t => CacheKey.TenantScope(t) == request.Scope)
            || !embeddingRoutes.TryGetRoute(rules.EmbeddingModel, out var route))
        {
            return null;
        }

        return SemanticPartition.Compute(cache.KeyPrefix, cache.Version, request.Scope, request.Alias, request.Messages, request.Options, rules, route.Deployments[0].Model, route.Dimensions);
    }

    private async Task<float[]?> EmbedAsync(GatewayRequest request, string question, SemanticCacheOptions rules, CancellationToken cancellationToken)
    {
        try
        {
            var result = await embeddings.EmbedAsync(
                new EmbeddingRequest(rules.EmbeddingModel, [EmbeddingItem.FromText(question)], null, false, request.Scope, null),
                new ChatCallRecord(),
                cancellationToken).ConfigureAwait(false);
            return result.Vectors[0];
        }
        catch (GatewayException)
        {
            // The embedding model failing costs the semantic cache, never the chat call.
            return null;
        }
    }
}
