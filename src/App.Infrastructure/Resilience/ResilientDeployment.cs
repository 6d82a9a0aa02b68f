using System.Threading.RateLimiting;
using App.Application.Calls;
using App.Application.Gateway;
using App.Application.Routing;
using App.Application.Telemetry;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace App.Infrastructure.Resilience;

/// <summary>
/// One deployment behind its Polly v8 pipeline: total timeout → retry (jittered exponential backoff, honouring
/// Retry-After) → circuit breaker → attempt timeout. In front of it a concurrency limiter with a bounded queue,
/// whose slot is held until a stream ends, so an overloaded deployment refuses work instead of piling it up.
/// Streams are retried only until their first update: after that, nothing can be taken back from the client.
/// </summary>
internal sealed partial class ResilientDeployment : IDeployment, IDisposable
{
    private static readonly ResiliencePropertyKey<ChatCallRecord> RecordKey = new("app.call-record");

    private readonly IChatClient _client;
    // Typed over object, not untyped: an untyped pipeline runs each typed strategy (retry, breaker) through a
    // bridge of its own, two more async state machines per call than the strategies themselves.
    private readonly ResiliencePipeline<object> _pipeline;
    private readonly CircuitBreakerStateProvider _circuit = new();
    private readonly DeploymentGate _limiter;
    private readonly EffectiveResilience _settings;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private long _openUntilTimestamp;

    public ResilientDeployment(string id, DeploymentOptions options, EffectiveResilience settings, IChatClient client, TimeProvider time, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        Id = id;
        Provider = options.Provider;
        Model = options.Model;
        _client = client;
        _settings = settings;
        _time = time;
        _logger = loggerFactory.CreateLogger<ResilientDeployment>();
        _limiter = new DeploymentGate(id, settings.MaxConcurrency, settings.QueueLimit, settings.QueueTimeout);

        var builder = new ResiliencePipelineBuilder<object> { Name = $"llm/{id}", TimeProvider = time }
            .AddTimeout(new TimeoutStrategyOptions { Name = "total", Timeout = settings.TotalTimeout });
        if (settings.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<object>
            {
                Name = "retry",
                MaxRetryAttempts = settings.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = settings.RetryBaseDelay,
                MaxDelay = settings.MaxRetryAfter,
                // A Retry-After longer than we are willing to wait is not retried here: the next deployment gets the call.
                ShouldHandle = new PredicateBuilder<object>()
                    .Handle<UpstreamException>(e => e.IsTransient && !(e.RetryAfter > settings.MaxRetryAfter))
                    .Handle<TimeoutRejectedException>(),
                DelayGenerator = static args => new ValueTask<TimeSpan?>(
                    args.Outcome.Exception is UpstreamException { RetryAfter: { } retryAfter } ? retryAfter : null),
                OnRetry = args =>
                {
                    if (args.Context.Properties.TryGetValue(RecordKey, out var record))
                    {
                        record.Retries++;
                    }

                    GatewayTelemetry.Retries.Add(1, new KeyValuePair<string, object?>("app.deployment", Id));
                    LogRetry(args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds, args.Outcome.Exception?.Message);
                    return ValueTask.CompletedTask;
                },
            });
        }

        _pipeline = builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<object>
            {
                Name = "breaker",
                FailureRatio = settings.BreakerFailureRatio,
                MinimumThroughput = settings.BreakerMinimumThroughput,
                SamplingDuration = settings.BreakerSamplingDuration,
                BreakDuration = settings.BreakerBreakDuration,
                StateProvider = _circuit,
                ShouldHandle = new PredicateBuilder<object>()
                    .Handle<UpstreamException>(e => e.CountsAsFailure)
                    .Handle<TimeoutRejectedException>(),
                OnOpened = args =>
                {
                    Interlocked.Exchange(ref _openUntilTimestamp, time.GetTimestamp() + (long)(args.BreakDuration.TotalSeconds * time.TimestampFrequency));
                    LogCircuitOpened(args.BreakDuration.TotalSeconds, args.Outcome.Exception?.Message);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    LogCircuitClosed();
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(new TimeoutStrategyOptions { Name = "attempt", Timeout = settings.AttemptTimeout })
            .ConfigureTelemetry(loggerFactory)
            .Build();
    }

    public string Id { get; }

    public string Provider { get; }

    public string Model { get; }

    // Polly moves an open circuit to half-open only when a call arrives after the break, so a deployment whose
    // break is over must count as available: that call is the probe that can close the circuit again.
    public bool IsAvailable => _circuit.CircuitState switch
    {
        CircuitState.Closed or CircuitState.HalfOpen => true,
        CircuitState.Open => _time.GetTimestamp() >= Interlocked.Read(ref _openUntilTimestamp),
        _ => false,
    };

    public CircuitState Circuit => _circuit.CircuitState;

    public RateLimiterStatistics? Concurrency => _limiter.Statistics;

    public async Task<ChatResponse> CompleteAsync(IReadOnlyList<ChatMessage> messages, ChatOptions options, ChatCallRecord record, CancellationToken cancellationToken)
    {
        using var lease = await _limiter.AcquireAsync(cancellationToken).ConfigureAwait(false);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(RecordKey, record);
        try
        {
            return (ChatResponse)await _pipeline.ExecuteAsync(
                static (ctx, state) => CallOnceAsync(state.Client, state.Messages, state.Options, ctx.CancellationToken),
                context,
                (Client: _client, Messages: messages, Options: options)).ConfigureAwait(false);
        }
        catch (Exception ex) when (Translate(ex, cancellationToken) is { } translated)
        {
            throw translated;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    public async Task<IStreamingCall> OpenStreamAsync(IReadOnlyList<ChatMessage> messages, ChatOptions options, ChatCallRecord record, CancellationToken cancellationToken)
    {
        var lease = await _limiter.AcquireAsync(cancellationToken).ConfigureAwait(false);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(RecordKey, record);
        try
        {
            var opened = (OpenedStream)await _pipeline.ExecuteAsync(
                static (ctx, state) => OpenOnceAsync(state.Client, state.Messages, state.Options, ctx.CancellationToken, state.RequestAborted),
                context,
                (Client: _client, Messages: messages, Options: options, RequestAborted: cancellationToken)).ConfigureAwait(false);
            return new DeploymentStream(opened.Enumerator, opened.Cancellation, lease, _settings.StreamIdleTimeout, cancellationToken);
        }
        catch (Exception ex)
        {
            lease.Dispose();
            if (Translate(ex, cancellationToken) is { } translated)
            {
                throw translated;
            }

            throw;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private static async ValueTask<object> CallOnceAsync(IChatClient client, IReadOnlyList<ChatMessage> messages, ChatOptions options, CancellationToken attempt) =>
        await client.GetResponseAsync(messages, options, attempt).ConfigureAwait(false);

    // The stream must outlive this attempt, and Polly pools (and reuses) the attempt's token source, so the
    // stream runs on a token source of its own that follows the attempt's only until the first update arrives.
    private static async ValueTask<object> OpenOnceAsync(
        IChatClient client, IReadOnlyList<ChatMessage> messages, ChatOptions options, CancellationToken attempt, CancellationToken requestAborted)
    {
        var streamCts = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
        var enumerator = client.GetStreamingResponseAsync(messages, options, streamCts.Token).GetAsyncEnumerator(streamCts.Token);
        try
        {
            using (attempt.Register(static s => ((CancellationTokenSource)s!).Cancel(), streamCts))
            {
                if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                {
                    throw new UpstreamException(UpstreamFailureKind.StreamBroken, "The upstream stream ended without any output.");
                }
            }

            // The attempt may have timed out in the instant after the first update: that still counts as a timeout.
            streamCts.Token.ThrowIfCancellationRequested();
            return new OpenedStream(enumerator, streamCts);
        }
        catch
        {
            await streamCts.CancelAsync().ConfigureAwait(false);
            await enumerator.DisposeAsync().ConfigureAwait(false);
            streamCts.Dispose();
            throw;
        }
    }

    private UpstreamException? Translate(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        _ when cancellationToken.IsCancellationRequested => null,
        TimeoutRejectedException t => new UpstreamException(UpstreamFailureKind.Timeout, $"Deployment {Id} timed out.", inner: t),
        BrokenCircuitException b => new UpstreamException(UpstreamFailureKind.CircuitOpen, $"Deployment {Id} is unavailable (circuit open).", retryAfter: b.RetryAfter, inner: b),
        UpstreamException => null,
        OperationCanceledException o => new UpstreamException(UpstreamFailureKind.Timeout, $"Deployment {Id} timed out.", inner: o),
        _ => null,
    };

    public void Dispose()
    {
        _limiter.Dispose();
        (_client as IDisposable)?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retrying deployment call, attempt {Attempt} after {DelayMs} ms: {Reason}")]
    private partial void LogRetry(int attempt, double delayMs, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Circuit opened for {BreakSeconds} s: {Reason}")]
    private partial void LogCircuitOpened(double breakSeconds, string? reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Circuit closed")]
    private partial void LogCircuitClosed();

    private sealed record OpenedStream(IAsyncEnumerator<ChatResponseUpdate> Enumerator, CancellationTokenSource Cancellation);
}
