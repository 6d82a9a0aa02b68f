using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using App.Application.Caching;
using App.Application.Calls;
using App.Application.Telemetry;
using App.Application.Traffic;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace App.Application.Gateway;

/// <summary>
/// The chat request path after validation: route lookup, rate limits and budgets (reserve, then settle with the
/// real usage), the response cache with stampede protection, and fallback across the deployments of the route.
/// Per-deployment resilience (timeouts, retries, breaker, concurrency) lives behind <see cref="IDeployment"/>.
/// </summary>
public sealed partial class ChatGateway(
    IModelRoutes routes,
    IResponseCache cache,
    IOptionsMonitor<CacheOptions> cacheOptions,
    IUsageLimiter limiter,
    ITokenEstimator tokens,
    IOptionsMonitor<TrafficOptions> trafficOptions,
    TimeProvider time,
    ILogger<ChatGateway> logger)
{
    // One upstream call per cache key at a time in this process; later identical misses wait for its answer.
    private readonly ConcurrentDictionary<string, TaskCompletionSource<CachedCompletion?>> _inflight = new(StringComparer.Ordinal);

    public async Task<ChatResponse> CompleteAsync(GatewayRequest request, bool bypassCache, ChatCallRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(record);
        var deployments = Resolve(request.Alias);
        if (MayOverlap(request, bypassCache))
        {
            return await CompleteOverlappedAsync(deployments, request, record, cancellationToken).ConfigureAwait(false);
        }

        var (admission, ticket) = await AdmitAndLookUpAsync(request, bypassCache, record, cancellationToken).ConfigureAwait(false);
        var usage = CallUsage.None;
        try
        {
            var response = await CompleteCoreAsync(deployments, request, ticket, record, cancellationToken).ConfigureAwait(false);
            usage = UsageOf(request, record, response.Text.Length);
            return response;
        }
        finally
        {
            Settle(admission, usage);
        }
    }

    /// <summary>
    /// A call that skips the cache, from a caller whose last admission left plenty of room, starts upstream while
    /// its admission is still in Redis (<see cref="TrafficOptions.OverlapAdmission"/>): the round trip is hidden
    /// behind the call instead of preceding it. The verdict still comes first: a refusal cancels the call and is
    /// what the client gets.
    /// </summary>
    private bool MayOverlap(GatewayRequest request, bool bypassCache) =>
        request.Caller is { } caller && !IsCacheable(request, bypassCache) && limiter.HasHeadroom(caller, request.Alias);

    private async Task<ChatResponse> CompleteOverlappedAsync(IReadOnlyList<IDeployment> deployments, GatewayRequest request, ChatCallRecord record, CancellationToken cancellationToken)
    {
        Count(record, CacheStatus.Bypass);
        var admitting = AdmitAsync(request, record, cancellationToken).AsTask();
        using var upstream = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var calling = CallAsync(deployments, request, record, upstream.Token);
        var admission = await AwaitVerdictAsync(admitting, calling, upstream, record).ConfigureAwait(false);
        var usage = CallUsage.None;
        try
        {
            var response = await calling.ConfigureAwait(false);
            usage = UsageOf(request, record, response.Text.Length);
            return response;
        }
        finally
        {
            Settle(admission, usage);
        }
    }

    private async Task<StreamingAnswer> StreamOverlappedAsync(IReadOnlyList<IDeployment> deployments, GatewayRequest request, ChatCallRecord record, CancellationToken cancellationToken)
    {
        Count(record, CacheStatus.Bypass);
        var admitting = AdmitAsync(request, record, cancellationToken).AsTask();
        // Lives as long as the stream: the upstream response is read under its token.
        var upstream = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            var opening = OpenAsync(deployments, request, record, upstream.Token);
            var admission = await AwaitVerdictAsync(admitting, opening, upstream, record).ConfigureAwait(false);
            try
            {
                return new LiveStream(this, await opening.ConfigureAwait(false), request, record, admission, null, null, upstream);
            }
            catch
            {
                Settle(admission, CallUsage.None);
                throw;
            }
        }
        catch
        {
            upstream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Waits for the admission while the call runs. On a refusal (or a failure of the admission itself) the call
    /// is cancelled and waited for, a stream it opened is closed, and the refusal is what the record keeps.
    /// </summary>
    private static async Task<Admission> AwaitVerdictAsync<T>(Task<Admission> admitting, Task<T> running, CancellationTokenSource upstream, ChatCallRecord record)
    {
        try
        {
            return await admitting.ConfigureAwait(false);
        }
        catch
        {
            // Read from the admission, not the record: the running call may have failed and written there too.
            var verdict = record.Admission is { IsAdmitted: false } refused ? refused.Verdict.ToString() : record.ErrorType;
            await upstream.CancelAsync().ConfigureAwait(false);
            try
            {
                if (await running.ConfigureAwait(false) is IAsyncDisposable opened)
                {
                    await opened.DisposeAsync().ConfigureAwait(false);
                }
            }
            catch (Exception)
            {
                // cancelled as intended, or failed on its own: the refusal is the answer either way
            }

            record.ErrorType = verdict;
            GatewayTelemetry.OverlapsCancelled.Add(1);
            throw;
        }
    }

    /// <summary>
    /// The admission script and the cache look-up are sent to Redis together, so a call waits for one round trip
    /// instead of two. A refusal still wins: a hit or a flight the caller may not use is given back.
    /// </summary>
    private async Task<(Admission Admission, CacheTicket Ticket)> AdmitAndLookUpAsync(GatewayRequest request, bool bypassCache, ChatCallRecord record, CancellationToken cancellationToken)
    {
        var admitting = AdmitAsync(request, record, cancellationToken).AsTask();
        CacheTicket ticket;
        try
        {
            ticket = await LookUpAsync(request, bypassCache, record, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await GiveBackAsync(admitting).ConfigureAwait(false);
            throw;
        }

        try
        {
            return (await admitting.ConfigureAwait(false), ticket);
        }
        catch
        {
            record.Cache = CacheStatus.Bypass;
            if (ticket.Flight is { } flight)
            {
                ReleaseFlight(ticket.Key!, flight, null);
            }

            throw;
        }
    }

    private async Task GiveBackAsync(Task<Admission> admitting)
    {
        try
        {
            Settle(await admitting.ConfigureAwait(false), CallUsage.None);
        }
        catch (GatewayException)
        {
            // refused anyway: nothing was reserved
        }
    }

    private async Task<ChatResponse> CompleteCoreAsync(IReadOnlyList<IDeployment> deployments, GatewayRequest request, CacheTicket ticket, ChatCallRecord record, CancellationToken cancellationToken)
    {
        if (ticket.Hit is { } hit)
        {
            return Replay(hit, record);
        }

        if (ticket.Flight is not { } flight)
        {
            return await CallAsync(deployments, request, record, cancellationToken).ConfigureAwait(false);
        }

        CachedCompletion? stored = null;
        try
        {
            var response = await CallAsync(deployments, request, record, cancellationToken).ConfigureAwait(false);
            stored = ToCached(response.Text, response.FinishReason, response.ModelId, response.Usage);
            await StoreAsync(ticket.Key!, stored).ConfigureAwait(false);
            return response;
        }
        finally
        {
            ReleaseFlight(ticket.Key!, flight, stored);
        }
    }

    /// <summary>
    /// Starts a streamed answer. Everything that can fail before the first token fails here, so the caller can
    /// still answer with a proper HTTP error; once this returns, the response is committed.
    /// </summary>
    public async Task<StreamingAnswer> StreamAsync(GatewayRequest request, bool bypassCache, ChatCallRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(record);
        var deployments = Resolve(request.Alias);
        if (MayOverlap(request, bypassCache))
        {
            return await StreamOverlappedAsync(deployments, request, record, cancellationToken).ConfigureAwait(false);
        }

        var (admission, ticket) = await AdmitAndLookUpAsync(request, bypassCache, record, cancellationToken).ConfigureAwait(false);
        if (ticket.Hit is { } hit)
        {
            return new ReplayStream(this, hit, request, record, admission, time);
        }

        try
        {
            var opened = await OpenAsync(deployments, request, record, cancellationToken).ConfigureAwait(false);
            // The leader stores the answer and wakes the followers when its stream is complete (or disposed).
            return new LiveStream(this, opened, request, record, admission, ticket.Flight is null ? null : ticket.Key, ticket.Flight);
        }
        catch
        {
            Settle(admission, CallUsage.None);
            if (ticket.Flight is not null)
            {
                ReleaseFlight(ticket.Key!, ticket.Flight, null);
            }

            throw;
        }
    }

    /// <summary>Reserves the call against the caller's limits and budget, or refuses it with the reason.</summary>
    private async ValueTask<Admission> AdmitAsync(GatewayRequest request, ChatCallRecord record, CancellationToken cancellationToken)
    {
        if (request.Caller is not { } caller)
        {
            return Admission.Unlimited;
        }

        var reserveOutput = request.Options.MaxOutputTokens ?? trafficOptions.CurrentValue.DefaultOutputReservation;
        var estimate = tokens.CountPrompt(request.Messages) + reserveOutput;
        var admission = await limiter.AdmitAsync(caller, request.Alias, estimate, cancellationToken).ConfigureAwait(false);
        record.Admission = admission;
        if (admission.IsAdmitted)
        {
            return admission;
        }

        record.ErrorType = admission.Verdict.ToString();
        GatewayTelemetry.Rejections.Add(1, new KeyValuePair<string, object?>("error.type", record.ErrorType));
        throw admission.Verdict switch
        {
            AdmissionVerdict.BudgetExceeded => new GatewayException(
                GatewayErrorKind.BudgetExceeded,
                $"Your organization's {admission.Limit!.Replace('_', ' ')} budget is used up. It renews at the start of the next period.",
                retryAfter: admission.RetryAfter),
            AdmissionVerdict.TooLarge => new GatewayException(
                GatewayErrorKind.RequestTooLarge,
                $"The request needs {estimate} tokens (prompt plus max_tokens), more than your limit of {admission.Tokens?.Limit} tokens per minute on '{request.Alias}'. Shorten the prompt or lower max_tokens.",
                param: "messages"),
            _ => new GatewayException(
                GatewayErrorKind.RateLimited,
                $"Rate limit reached for {admission.Limit} per minute on '{request.Alias}'. Retry after the delay in Retry-After.",
                retryAfter: admission.RetryAfter),
        };
    }

    /// <summary>What the call used: the provider's usage where reported, otherwise counted or estimated here.</summary>
    private CallUsage UsageOf(GatewayRequest request, ChatCallRecord record, long outputChars) =>
        new(
            record.InputTokens ?? tokens.CountPrompt(request.Messages),
            record.OutputTokens ?? ((outputChars + 3) / 4),
            record.Cache == CacheStatus.Hit);

    // Issued before the response goes out (so a later request on this instance sees it), not waited for.
    private void Settle(Admission admission, CallUsage usage)
    {
        if (admission.Reserved is not null)
        {
            _ = limiter.SettleAsync(admission, usage).AsTask();
        }
    }

    /// <summary>What the cache says about a request: a hit, or a miss that this caller leads (Flight) or not.</summary>
    private readonly record struct CacheTicket(string? Key, CachedCompletion? Hit, TaskCompletionSource<CachedCompletion?>? Flight);

    private async ValueTask<CacheTicket> LookUpAsync(GatewayRequest request, bool bypass, ChatCallRecord record, CancellationToken cancellationToken)
    {
        var key = CacheKeyFor(request, bypass);
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

    private IReadOnlyList<IDeployment> Resolve(string alias) =>
        routes.TryGetRoute(alias, out var deployments)
            ? deployments
            : throw new GatewayException(GatewayErrorKind.ModelNotFound, $"The model '{alias}' does not exist. GET /v1/models lists the models you can use.", "model");

    private bool IsCacheable(GatewayRequest request, bool bypass)
    {
        var options = cacheOptions.CurrentValue;
        return !bypass && options.Enabled && (!options.RequireDeterministic || CacheKey.IsDeterministic(request.Options));
    }

    private string? CacheKeyFor(GatewayRequest request, bool bypass)
    {
        if (!IsCacheable(request, bypass))
        {
            return null;
        }

        var options = cacheOptions.CurrentValue;
        return CacheKey.Compute(options.KeyPrefix, options.Version, request.Scope, request.Alias, request.Messages, request.Options);
    }

    private async Task<ChatResponse> CallAsync(IReadOnlyList<IDeployment> deployments, GatewayRequest request, ChatCallRecord record, CancellationToken cancellationToken)
    {
        var response = await FirstThatAnswersAsync(
            deployments,
            record,
            d => d.CompleteAsync(request.Messages, request.Options, record, cancellationToken)).ConfigureAwait(false);
        record.ResponseModel = response.ModelId ?? record.ResponseModel;
        record.FinishReason = response.FinishReason?.Value;
        record.InputTokens = response.Usage?.InputTokenCount;
        record.OutputTokens = response.Usage?.OutputTokenCount;
        return response;
    }

    private async Task<IStreamingCall> OpenAsync(IReadOnlyList<IDeployment> deployments, GatewayRequest request, ChatCallRecord record, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var opened = await FirstThatAnswersAsync(
            deployments,
            record,
            d => d.OpenStreamAsync(request.Messages, request.Options, record, cancellationToken)).ConfigureAwait(false);
        record.TimeToFirstToken = time.GetElapsedTime(started);
        record.ResponseModel = opened.First.ModelId ?? record.ResponseModel;
        return opened;
    }

    /// <summary>
    /// The fallback rule: deployments in route order, skipping open circuits, moving on after any failure that
    /// another deployment might not have, stopping at a refusal of the request itself.
    /// </summary>
    private async Task<T> FirstThatAnswersAsync<T>(IReadOnlyList<IDeployment> deployments, ChatCallRecord record, Func<IDeployment, Task<T>> call)
    {
        UpstreamException? last = null;
        for (var i = 0; i < deployments.Count; i++)
        {
            var deployment = deployments[i];
            if (!deployment.IsAvailable)
            {
                last = new UpstreamException(UpstreamFailureKind.CircuitOpen, $"Deployment {deployment.Id} is unavailable (circuit open).");
                continue;
            }

            Mark(record, deployment, i);
            try
            {
                return await call(deployment).ConfigureAwait(false);
            }
            catch (UpstreamException ex) when (ex.AllowsFallback)
            {
                LogDeploymentFailed(deployment.Id, ex.Kind, ex.StatusCode);
                last = ex;
            }
            catch (UpstreamException ex)
            {
                throw Rejected(ex, record);
            }
        }

        throw Exhausted(last, record);
    }

    private static void Mark(ChatCallRecord record, IDeployment deployment, int position)
    {
        record.DeploymentId = deployment.Id;
        record.Provider = deployment.Provider;
        record.ResponseModel = deployment.Model;
        if (position > 0 && !record.FallbackUsed)
        {
            record.FallbackUsed = true;
            GatewayTelemetry.Fallbacks.Add(1);
        }
    }

    private static GatewayException Rejected(UpstreamException ex, ChatCallRecord record)
    {
        record.ErrorType = "upstream_rejected";
        return new GatewayException(GatewayErrorKind.UpstreamRejected, $"The model provider refused the request: {ex.Message}", inner: ex);
    }

    private static GatewayException Exhausted(UpstreamException? last, ChatCallRecord record)
    {
        var error = last?.Kind switch
        {
            UpstreamFailureKind.Saturated or UpstreamFailureKind.CircuitOpen => new GatewayException(
                GatewayErrorKind.Overloaded,
                "The model is overloaded or temporarily unavailable. Retry after the delay in Retry-After.",
                retryAfter: last.RetryAfter is { } ra && ra > TimeSpan.Zero ? ra : TimeSpan.FromSeconds(1),
                inner: last),
            UpstreamFailureKind.Timeout => new GatewayException(GatewayErrorKind.UpstreamTimeout, "The model provider did not answer in time.", inner: last),
            _ => new GatewayException(GatewayErrorKind.UpstreamUnavailable, "The model provider failed to answer.", inner: last),
        };
        record.ErrorType = error.Kind.ToString();
        GatewayTelemetry.Rejections.Add(1, new KeyValuePair<string, object?>("error.type", record.ErrorType));
        return error;
    }

    private static void Count(ChatCallRecord record, CacheStatus status)
    {
        record.Cache = status;
        GatewayTelemetry.CacheLookups.Add(1, new KeyValuePair<string, object?>("app.cache.result", status switch
        {
            CacheStatus.Hit => "hit",
            CacheStatus.Miss => "miss",
            _ => "bypass",
        }));
        Activity.Current?.SetTag("app.cache.hit", status == CacheStatus.Hit);
    }

    private ChatResponse Replay(CachedCompletion hit, ChatCallRecord record)
    {
        record.ResponseModel = hit.Model;
        record.FinishReason = hit.FinishReason;
        record.InputTokens = hit.InputTokens;
        record.OutputTokens = hit.OutputTokens;
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, hit.Text))
        {
            ModelId = hit.Model,
            FinishReason = new ChatFinishReason(hit.FinishReason),
            CreatedAt = time.GetUtcNow(),
            Usage = new UsageDetails { InputTokenCount = hit.InputTokens, OutputTokenCount = hit.OutputTokens, TotalTokenCount = hit.InputTokens + hit.OutputTokens },
        };
    }

    private CachedCompletion? ToCached(string text, ChatFinishReason? finish, string? model, UsageDetails? usage)
    {
        // Incomplete answers and oversized ones are not worth a slot.
        if (finish is null || model is null || Encoding.UTF8.GetByteCount(text) > cacheOptions.CurrentValue.MaxEntryBytes)
        {
            return null;
        }

        return new CachedCompletion(text, finish.Value.Value, model, usage?.InputTokenCount ?? 0, usage?.OutputTokenCount ?? 0, time.GetUtcNow());
    }

    private async Task StoreAsync(string key, CachedCompletion? value)
    {
        if (value is not null)
        {
            // Not the request's token: a client that hangs up after the answer is complete should still fill the cache.
            await cache.SetAsync(key, value, cacheOptions.CurrentValue.Ttl, CancellationToken.None).ConfigureAwait(false);
        }
    }

    // Removed before waking the followers, so that a request arriving now reads the store instead.
    private void ReleaseFlight(string key, TaskCompletionSource<CachedCompletion?> flight, CachedCompletion? value)
    {
        _inflight.TryRemove(new KeyValuePair<string, TaskCompletionSource<CachedCompletion?>>(key, flight));
        flight.TrySetResult(value);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deployment {DeploymentId} failed ({FailureKind}, status {StatusCode}); trying the next one of the route")]
    private partial void LogDeploymentFailed(string deploymentId, UpstreamFailureKind failureKind, int? statusCode);

    /// <summary>A streamed answer: replayed from the cache or relayed live from a deployment.</summary>
    public abstract class StreamingAnswer : IAsyncDisposable
    {
        public abstract IAsyncEnumerable<ChatResponseUpdate> ReadAllAsync(CancellationToken cancellationToken);

        public abstract ValueTask DisposeAsync();
    }

    private sealed class ReplayStream(ChatGateway gateway, CachedCompletion hit, GatewayRequest request, ChatCallRecord record, Admission admission, TimeProvider time) : StreamingAnswer
    {
        public override async IAsyncEnumerable<ChatResponseUpdate> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            record.ResponseModel = hit.Model;
            record.FinishReason = hit.FinishReason;
            record.InputTokens = hit.InputTokens;
            record.OutputTokens = hit.OutputTokens;
            record.TimeToFirstToken = TimeSpan.Zero;
            var created = time.GetUtcNow();
            yield return new ChatResponseUpdate(ChatRole.Assistant, hit.Text) { ModelId = hit.Model, CreatedAt = created };
            yield return new ChatResponseUpdate
            {
                ModelId = hit.Model,
                CreatedAt = created,
                FinishReason = new ChatFinishReason(hit.FinishReason),
                Contents = [new UsageContent(new UsageDetails { InputTokenCount = hit.InputTokens, OutputTokenCount = hit.OutputTokens, TotalTokenCount = hit.InputTokens + hit.OutputTokens })],
            };
            await Task.CompletedTask.ConfigureAwait(false);
        }

        public override ValueTask DisposeAsync()
        {
            gateway.Settle(admission, gateway.UsageOf(request, record, hit.Text.Length));
            return ValueTask.CompletedTask;
        }
    }

    private sealed class LiveStream(
        ChatGateway gateway, IStreamingCall opened, GatewayRequest request, ChatCallRecord record, Admission admission, string? key, TaskCompletionSource<CachedCompletion?>? flight, IDisposable? owned = null) : StreamingAnswer
    {
        private CachedCompletion? _completed;
        private long _chars;

        public override async IAsyncEnumerable<ChatResponseUpdate> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var text = new StringBuilder();
            ChatFinishReason? finish = null;
            UsageDetails? usage = null;
            string? model = null;

            Observe(opened.First);
            yield return opened.First;
            await foreach (var update in opened.ReadRestAsync(cancellationToken).ConfigureAwait(false))
            {
                Observe(update);
                yield return update;
            }

            record.FinishReason = finish?.Value;
            record.InputTokens = usage?.InputTokenCount;
            record.OutputTokens = usage?.OutputTokenCount;
            if (key is not null)
            {
                _completed = gateway.ToCached(text.ToString(), finish, model ?? record.ResponseModel, usage);
                await gateway.StoreAsync(key, _completed).ConfigureAwait(false);
            }

            void Observe(ChatResponseUpdate update)
            {
                model ??= update.ModelId;
                finish ??= update.FinishReason;
                foreach (var content in update.Contents)
                {
                    switch (content)
                    {
                        case TextContent t:
                            _chars += t.Text.Length;
                            if (key is not null)
                            {
                                text.Append(t.Text);
                            }

                            break;
                        case UsageContent u:
                            usage = u.Details;
                            break;
                    }
                }
            }
        }

        public override async ValueTask DisposeAsync()
        {
            await opened.DisposeAsync().ConfigureAwait(false);
            owned?.Dispose();
            // A stream cut short still used what it produced: counted from the text when the provider said nothing.
            gateway.Settle(admission, gateway.UsageOf(request, record, _chars));
            if (key is not null && flight is not null)
            {
                gateway.ReleaseFlight(key, flight, _completed);
            }
        }
    }
}
