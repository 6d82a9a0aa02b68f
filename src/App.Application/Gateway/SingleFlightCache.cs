using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using App.Application.Caching;
using App.Application.Calls;
using App.Application.Telemetry;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace App.Application.Gateway;

/// <summary>
/// The response cache as the gateway uses it: a look-up that lets one upstream call per key run at a time in this
/// process (identical misses wait for its answer), the replay of a hit, and the store of a complete answer.
/// </summary>
internal sealed class SingleFlightCache(IResponseCache cache, IOptionsMonitor<CacheOptions> cacheOptions, TimeProvider time)
{
    // One upstream call per cache key at a time in this process; later identical misses wait for its answer.
    private readonly ConcurrentDictionary<string, TaskCompletionSource<CachedCompletion?>> _inflight = new(StringComparer.Ordinal);

    public bool IsCacheable(GatewayRequest request, bool bypass)
    {
        var options = cacheOptions.CurrentValue;
        return !bypass && options.Enabled && (!options.RequireDeterministic || CacheKey.IsDeterministic(request.Options));
    }

    public async ValueTask<CacheTicket> LookUpAsync(GatewayRequest request, bool bypass, ChatCallRecord record, CancellationToken cancellationToken)
    {
        var key = KeyFor(request, bypass);
        if (key is null)
        {
            Count(record, CacheStatus.Bypass);
            return default;
        }

        if (await cache.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } hit)
        {
            Count(record, CacheStatus.Hit);
            return new CacheTicket(key, hit, null);
        }

        var flight = new TaskCompletionSource<CachedCompletion?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var leader = _inflight.GetOrAdd(key, flight);
        if (leader == flight)
        {
            Count(record, CacheStatus.Miss);
            return new CacheTicket(key, null, flight);
        }

        if (await leader.Task.WaitAsync(cancellationToken).ConfigureAwait(false) is { } shared)
        {
            Count(record, CacheStatus.Hit);
            return new CacheTicket(key, shared, null);
        }

        // The leader failed: go on our own rather than fail with it.
        Count(record, CacheStatus.Miss);
        return new CacheTicket(key, null, null);
    }

    /// <summary>Counts a look-up's outcome, keeps it in the record and tags the current span with it.</summary>
    public static void Count(ChatCallRecord record, CacheStatus status)
    {
        record.Cache = status;
        GatewayTelemetry.CacheLookups.Add(1, new KeyValuePair<string, object?>("app.cache.result", status switch
        {
            CacheStatus.Hit => "hit",
            CacheStatus.SemanticHit => "semantic_hit",
            CacheStatus.Miss => "miss",
            _ => "bypass",
        }));
        Activity.Current?.SetTag("app.cache.hit", status is CacheStatus.Hit or CacheStatus.SemanticHit);
    }

    public ChatResponse Replay(CachedCompletion hit, ChatCallRecord record)
    {
        Describe(hit, record);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, hit.Text))
        {
            ModelId = hit.Model,
            FinishReason = new ChatFinishReason(hit.FinishReason),
            CreatedAt = time.GetUtcNow(),
            Usage = UsageOf(hit),
        };
    }

    /// <summary>Writes what a replayed answer was into the record, as if the provider had just said it.</summary>
    public static void Describe(CachedCompletion hit, ChatCallRecord record)
    {
        record.ResponseModel = hit.Model;
        record.FinishReason = hit.FinishReason;
        record.InputTokens = hit.InputTokens;
        record.OutputTokens = hit.OutputTokens;
    }

    public static UsageDetails UsageOf(CachedCompletion hit) =>
        new() { InputTokenCount = hit.InputTokens, OutputTokenCount = hit.OutputTokens, TotalTokenCount = hit.InputTokens + hit.OutputTokens };

    public CachedCompletion? ToCached(string text, ChatFinishReason? finish, string? model, UsageDetails? usage)
    {
        // Incomplete answers and oversized ones are not worth a slot.
        if (finish is null || model is null || Encoding.UTF8.GetByteCount(text) > cacheOptions.CurrentValue.MaxEntryBytes)
        {
            return null;
        }

        return new CachedCompletion(text, finish.Value.Value, model, usage?.InputTokenCount ?? 0, usage?.OutputTokenCount ?? 0, time.GetUtcNow());
    }

    public async Task StoreAsync(string key, CachedCompletion? value)
    {
        if (value is not null)
        {
            // Not the request's token: a client that hangs up after the answer is complete should still fill the cache.
            await cache.SetAsync(key, value, cacheOptions.CurrentValue.Ttl, CancellationToken.None).ConfigureAwait(false);
        }
    }

    // Removed before waking the followers, so that a request arriving now reads the store instead.
    public void ReleaseFlight(string key, TaskCompletionSource<CachedCompletion?> flight, CachedCompletion? value)
    {
        _inflight.TryRemove(new KeyValuePair<string, TaskCompletionSource<CachedCompletion?>>(key, flight));
        flight.TrySetResult(value);
    }

    private string? KeyFor(GatewayRequest request, bool bypass)
    {
        if (!IsCacheable(request, bypass))
        {
            return null;
        }

        var options = cacheOptions.CurrentValue;
        return CacheKey.Compute(options.KeyPrefix, options.Version, request.Scope, request.Alias, request.Messages, request.Options);
    }
}
