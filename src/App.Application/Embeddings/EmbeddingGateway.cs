using App.Application.Caching;
using App.Application.Calls;
using App.Application.Gateway;
using App.Application.Telemetry;
using App.Application.Traffic;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace App.Application.Embeddings;

/// <summary>
/// The embeddings path after validation: route lookup, the per-item cache (only the items it does not hold go
/// upstream, and the answer keeps input order), admission against rate limits and budgets for those items, and
/// fallback across the deployments of the route.
/// </summary>
public sealed partial class EmbeddingGateway(
    IEmbeddingRoutes routes,
    IEmbeddingCache cache,
    IOptionsMonitor<EmbeddingOptions> options,
    IOptionsMonitor<CacheOptions> cacheOptions,
    IUsageLimiter limiter,
    ITokenEstimator tokens,
    IOptionsMonitor<TrafficOptions> trafficOptions,
    ILogger<EmbeddingGateway> logger)
{
    private readonly AdmissionGate _gate = new(limiter, tokens, trafficOptions);

    public async Task<EmbeddingResult> EmbedAsync(EmbeddingRequest request, ChatCallRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(record);
        var route = routes.TryGetRoute(request.Alias, out var found)
            ? found
            : throw new GatewayException(GatewayErrorKind.ModelNotFound, $"The model '{request.Alias}' does not exist. GET /v1/models lists the models you can use.", "model");
        var dimensions = CheckDimensions(request, route);
        if (request.HasTokens && !route.Deployments.All(d => d.AcceptsTokens))
        {
            throw new GatewayException(GatewayErrorKind.InvalidRequest, $"The model '{request.Alias}' takes text only: send 'input' as a string or an array of strings.", "input");
        }

        var items = request.Items;
        var vectors = new float[]?[items.Count];
        var itemTokens = new long[items.Count];
        var keys = Lookup(request, route, dimensions);
        var cached = keys is null ? null : await cache.GetManyAsync(keys, cancellationToken).ConfigureAwait(false);
        var missing = new List<int>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            if (cached?[i] is { } hit && hit.Vector.Length == dimensions)
            {
                vectors[i] = hit.Vector;
                itemTokens[i] = hit.Tokens;
            }
            else
            {
                missing.Add(i);
            }
        }

        var hits = items.Count - missing.Count;
        Count(keys is null ? "bypass" : "hit", keys is null ? 0 : hits);
        Count(keys is null ? "bypass" : "miss", missing.Count);
        record.Cache = keys is null ? CacheStatus.Bypass : missing.Count == 0 ? CacheStatus.Hit : CacheStatus.Miss;

        var estimate = missing.Sum(i => items[i].EstimatedTokens);
        var admission = await _gate.AdmitAsync(request.Caller, request.Alias, estimate, "input", "the input items not in the cache", "Send fewer or shorter items at once.", record, cancellationToken).ConfigureAwait(false);
        long billed = 0;
        var model = route.Deployments[0].Model;
        try
        {
            if (missing.Count > 0)
            {
                var batch = await CallAsync(route, [.. missing.Select(i => items[i])], request.Dimensions, record, cancellationToken).ConfigureAwait(false);
                model = batch.Model ?? record.ResponseModel ?? model;
                billed = batch.InputTokens ?? estimate;
                Fill(batch, missing, items, dimensions, billed, estimate, vectors, itemTokens);
                if (keys is not null)
                {
                    await cache.SetManyAsync(
                        [.. missing.Select(i => new KeyValuePair<string, CachedEmbedding>(keys[i], new CachedEmbedding(vectors[i]!, (int)itemTokens[i])))],
                        options.CurrentValue.CacheTtl,
                        cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            // Items answered from the cache cost nothing and count against no provider limit.
            _gate.Settle(admission, new CallUsage(billed, 0, missing.Count == 0));
        }

        record.InputTokens = billed;
        record.OutputTokens = 0;
        record.ResponseModel ??= model;
        return new EmbeddingResult(vectors!, itemTokens.Sum(), model, hits);
    }

    private static int CheckDimensions(EmbeddingRequest request, EmbeddingRoute route)
    {
        if (request.Dimensions is not { } asked || asked == route.Dimensions)
        {
            return route.Dimensions;
        }

        if (!route.SupportsDimensions)
        {
            throw new GatewayException(GatewayErrorKind.InvalidRequest, $"The model '{request.Alias}' returns vectors of {route.Dimensions} dimensions only; leave 'dimensions' out or set it to {route.Dimensions}.", "dimensions");
        }

        return asked <= route.Dimensions
            ? asked
            : throw new GatewayException(GatewayErrorKind.InvalidRequest, $"'dimensions' must be at most {route.Dimensions} for the model '{request.Alias}'.", "dimensions");
    }

    /// <summary>The cache keys of the items, or null when the cache is off.</summary>
    private string[]? Lookup(EmbeddingRequest request, EmbeddingRoute route, int dimensions)
    {
        var cacheSettings = cacheOptions.CurrentValue;
        if (!cacheSettings.Enabled || !options.CurrentValue.CacheEnabled)
        {
            return null;
        }

        var model = route.Deployments[0].Model;
        var keys = new string[request.Items.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = EmbeddingCacheKey.Compute(cacheSettings.KeyPrefix, request.Scope, request.Alias, model, dimensions, request.Base64, request.Items[i]);
        }

        return keys;
    }

    /// <summary>
    /// Puts the provider's vectors in their places. A provider reports tokens for the whole batch only: each item is
    /// given its share in proportion to its estimate, so a later hit on it reports about what it cost.
    /// </summary>
    private static void Fill(EmbeddingBatch batch, List<int> missing, IReadOnlyList<EmbeddingItem> items, int dimensions, long billed, long estimate, float[]?[] vectors, long[] itemTokens)
    {
        if (batch.Vectors.Count != missing.Count || batch.Vectors.Any(v => v is null || v.Length != dimensions))
        {
            throw new GatewayException(
                GatewayErrorKind.UpstreamUnavailable,
                $"The model provider answered with {batch.Vectors.Count} vectors for {missing.Count} items, or with vectors of the wrong length.",
                inner: new UpstreamException(UpstreamFailureKind.Malformed, "embedding count or length mismatch"));
        }

        for (var j = 0; j < missing.Count; j++)
        {
            var i = missing[j];
            vectors[i] = batch.Vectors[j];
            itemTokens[i] = estimate == 0 ? 0 : (long)Math.Round((double)billed * items[i].EstimatedTokens / estimate);
        }
    }

    private async Task<EmbeddingBatch> CallAsync(EmbeddingRoute route, IReadOnlyList<EmbeddingItem> items, int? dimensions, ChatCallRecord record, CancellationToken cancellationToken)
    {
        UpstreamException? last = null;
        for (var i = 0; i < route.Deployments.Count; i++)
        {
            var deployment = route.Deployments[i];
            record.DeploymentId = deployment.Id;
            record.Provider = deployment.Provider;
            record.ResponseModel = deployment.Model;
            record.FallbackUsed |= i > 0;
            record.UpstreamBegins();
            try
            {
                return await deployment.EmbedAsync(items, dimensions, cancellationToken).ConfigureAwait(false);
            }
            catch (UpstreamException ex) when (ex.AllowsFallback)
            {
                LogDeploymentFailed(deployment.Id, ex.Kind, ex.StatusCode);
                last = ex;
            }
            catch (UpstreamException ex)
            {
                throw ChatGateway.Rejected(ex, record);
            }
            finally
            {
                record.UpstreamEnds();
            }
        }

        throw ChatGateway.Exhausted(last, record);
    }

    private static void Count(string result, int items)
    {
        if (items > 0)
        {
            GatewayTelemetry.EmbeddingCacheItems.Add(items, new KeyValuePair<string, object?>("app.cache.result", result));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Embedding deployment {DeploymentId} failed ({FailureKind}, status {StatusCode}); trying the next one of the route")]
    private partial void LogDeploymentFailed(string deploymentId, UpstreamFailureKind failureKind, int? statusCode);
}
