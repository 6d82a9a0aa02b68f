using App.Application.Caching;
using App.Application.Calls;
using App.Application.Telemetry;
using App.Application.Traffic;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace App.Application.Gateway;

/// <summary>
/// The chat request path after validation: route lookup, admission against rate limits and budgets
/// (<see cref="AdmissionGate"/>), the response cache with stampede protection (<see cref="SingleFlightCache"/>), and
/// fallback across the deployments of the route. Per-deployment resilience (timeouts, retries, breaker, concurrency)
/// lives behind <see cref="IDeployment"/>.
/// </summary>
public sealed partial class ChatGateway(
    IModelRoutes routes,
    IResponseCache cache,
    IOptionsMonitor<CacheOptions> cacheOptions,
    IUsageLimiter limiter,
    ITokenEstimator tokens,
    IOptionsMonitor<TrafficOptions> trafficOptions,
    TimeProvider time,
    ILogger<ChatGateway> logger,
    ISemanticCache? semantic = null)
{
    private readonly AdmissionGate _gate = new(limiter, tokens, trafficOptions);
    private readonly SingleFlightCache _cache = new(cache, cacheOptions, time);
    private readonly TimeProvider _time = time;

    public async Task<ChatResponse> CompleteAsync(GatewayRequest request, bool bypassCache, ChatCallRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(record);
        var deployments = Resolve(request.Alias);
        if (_gate.MayOverlap(request, _cache.IsCacheable(request, bypassCache)))
        {
            return await CompleteOverlappedAsync(deployments, request, record, cancellationToken).ConfigureAwait(false);
        }

        var (admission, ticket) = await AdmitAndLookUpAsync(request, bypassCache, record, cancellationToken).ConfigureAwait(false);
        var usage = CallUsage.None;
        try
        {
            var response = await CompleteCoreAsync(deployments, request, ticket, record, cancellationToken).ConfigureAwait(false);
            usage = _gate.UsageOf(request, record, response.Text.Length);
            return response;
        }
        finally
        {
            _gate.Settle(admission, usage);
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
        if (_gate.MayOverlap(request, _cache.IsCacheable(request, bypassCache)))
        {
            return await StreamOverlappedAsync(deployments, request, record, cancellationToken).ConfigureAwait(false);
        }

        var (admission, ticket) = await AdmitAndLookUpAsync(request, bypassCache, record, cancellationToken).ConfigureAwait(false);
        if (ticket.Hit is { } hit)
        {
            return new ReplayStream(_gate, hit, request, record, admission, _time);
        }

        try
        {
            var opened = await OpenAsync(deployments, request, record, cancellationToken).ConfigureAwait(false);
            // The leader stores the answer and wakes the followers when its stream is complete (or disposed).
            return new LiveStream(_gate, _cache, opened, request, record, admission, ticket.Flight is null ? null : ticket.Key, ticket.Flight, semantic);
        }
        catch
        {
            _gate.Settle(admission, CallUsage.None);
            if (ticket.Flight is not null)
            {
                _cache.ReleaseFlight(ticket.Key!, ticket.Flight, null);
            }

            throw;
        }
    }

    // The upstream call starts while the admission is in Redis; a refusal cancels it (AdmissionGate.MayOverlap).
    private async Task<ChatResponse> CompleteOverlappedAsync(IReadOnlyList<IDeployment> deployments, GatewayRequest request, ChatCallRecord record, CancellationToken cancellationToken)
    {
        SingleFlightCache.Count(record, CacheStatus.Bypass);
        var admitting = _gate.AdmitAsync(request, record, cancellationToken).AsTask();
        using var upstream = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var calling = CallAsync(deployments, request, record, upstream.Token);
        var admission = await AdmissionGate.AwaitVerdictAsync(admitting, calling, upstream, record).ConfigureAwait(false);
        var usage = CallUsage.None;
        try
        {
            var response = await calling.ConfigureAwait(false);
            usage = _gate.UsageOf(request, record, response.Text.Length);
            return response;
        }
        finally
        {
            _gate.Settle(admission, usage);
        }
    }

    // The stream opens while the admission is in Redis; a refusal closes it (AdmissionGate.MayOverlap).
    private async Task<StreamingAnswer> StreamOverlappedAsync(IReadOnlyList<IDeployment> deployments, GatewayRequest request, ChatCallRecord record, CancellationToken cancellationToken)
    {
        SingleFlightCache.Count(record, CacheStatus.Bypass);
        var admitting = _gate.AdmitAsync(request, record, cancellationToken).AsTask();
        // Lives as long as the stream: the upstream response is read under its token.
        var upstream = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            var opening = OpenAsync(deployments, request, record, upstream.Token);
            var admission = await AdmissionGate.AwaitVerdictAsync(admitting, opening, upstream, record).ConfigureAwait(false);
            try
            {
                return new LiveStream(_gate, _cache, await opening.ConfigureAwait(false), request, record, admission, null, null, null, upstream);
            }
            catch
            {
                _gate.Settle(admission, CallUsage.None);
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
    /// The admission script and the cache look-up are sent to Redis together, so a call waits for one round trip
    /// instead of two. A refusal still wins: a hit or a flight the caller may not use is given back.
    /// </summary>
    private async Task<(Admission Admission, CacheTicket Ticket)> AdmitAndLookUpAsync(GatewayRequest request, bool bypassCache, ChatCallRecord record, CancellationToken cancellationToken)
    {
        var admitting = _gate.AdmitAsync(request, record, cancellationToken).AsTask();
        CacheTicket ticket;
        try
        {
            ticket = await _cache.LookUpAsync(request, bypassCache, record, cancellationToken).ConfigureAwait(false);
            ticket = await SemanticAsync(request, ticket, record, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await _gate.GiveBackAsync(admitting).ConfigureAwait(false);
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
                _cache.ReleaseFlight(ticket.Key!, flight, null);
            }

            throw;
        }
    }

    /// <summary>On an exact miss, the semantic cache's verified answer to a paraphrase, served as a hit of its own kind.</summary>
    private async ValueTask<CacheTicket> SemanticAsync(GatewayRequest request, CacheTicket ticket, ChatCallRecord record, CancellationToken cancellationToken)
    {
        if (semantic is null || ticket.Hit is not null || ticket.Key is null
            || await semantic.FindAsync(request, cancellationToken).ConfigureAwait(false) is not { } found)
        {
            return ticket;
        }

        if (ticket.Flight is { } flight)
        {
            // Identical requests waiting on this one go upstream on their own rather than take a paraphrase's answer.
            _cache.ReleaseFlight(ticket.Key, flight, null);
        }

        SingleFlightCache.Count(record, CacheStatus.SemanticHit);
        return new CacheTicket(ticket.Key, found, null);
    }

    private async Task<ChatResponse> CompleteCoreAsync(IReadOnlyList<IDeployment> deployments, GatewayRequest request, CacheTicket ticket, ChatCallRecord record, CancellationToken cancellationToken)
    {
        if (ticket.Hit is { } hit)
        {
            return _cache.Replay(hit, record);
        }

        if (ticket.Flight is not { } flight)
        {
            return await CallAsync(deployments, request, record, cancellationToken).ConfigureAwait(false);
        }

        CachedCompletion? stored = null;
        try
        {
            var response = await CallAsync(deployments, request, record, cancellationToken).ConfigureAwait(false);
            stored = _cache.ToCached(response.Text, response.FinishReason, response.ModelId, response.Usage);
            await _cache.StoreAsync(ticket.Key!, stored).ConfigureAwait(false);
            if (stored is not null && semantic is not null)
            {
                await semantic.AddAsync(request, stored).ConfigureAwait(false);
            }
            return response;
        }
        finally
        {
            _cache.ReleaseFlight(ticket.Key!, flight, stored);
        }
    }

    /// <summary>Whether the model alias names a route of the service (what telemetry may then label by).</summary>
    public bool HasModel(string alias) => routes.TryGetRoute(alias, out _);

    private IReadOnlyList<IDeployment> Resolve(string alias) =>
        routes.TryGetRoute(alias, out var deployments)
            ? deployments
            : throw new GatewayException(GatewayErrorKind.ModelNotFound, $"The model '{alias}' does not exist. GET /v1/models lists the models you can use.", "model");

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
        var started = _time.GetTimestamp();
        var opened = await FirstThatAnswersAsync(
            deployments,
            record,
            d => d.OpenStreamAsync(request.Messages, request.Options, record, cancellationToken)).ConfigureAwait(false);
        record.TimeToFirstToken = _time.GetElapsedTime(started);
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
            record.UpstreamBegins();
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
            finally
            {
                record.UpstreamEnds();
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

    internal static GatewayException Rejected(UpstreamException ex, ChatCallRecord record)
    {
        record.ErrorType = "upstream_rejected";
        return new GatewayException(GatewayErrorKind.UpstreamRejected, $"The model provider refused the request: {ex.Message}", inner: ex);
    }

    internal static GatewayException Exhausted(UpstreamException? last, ChatCallRecord record)
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deployment {DeploymentId} failed ({FailureKind}, status {StatusCode}); trying the next one of the route")]
    private partial void LogDeploymentFailed(string deploymentId, UpstreamFailureKind failureKind, int? statusCode);
}
