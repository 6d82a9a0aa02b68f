using App.Application.Embeddings;
using App.Application.Gateway;
using App.Application.Routing;
using App.Application.Telemetry;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace App.Infrastructure.Resilience;

/// <summary>
/// One embedding deployment behind its Polly pipeline: total timeout, then jittered retries of transient failures
/// (honouring Retry-After), then the circuit breaker, then the attempt timeout; in front of it the deployment's
/// concurrency limit and bounded queue, as for chat. An embeddings call has nothing streamed to take back, so every
/// attempt may be retried.
/// </summary>
internal sealed class ResilientEmbeddingDeployment : IEmbeddingDeployment, IDisposable
{
    private readonly DeploymentGate _gate;
    private readonly Func<IReadOnlyList<EmbeddingItem>, int?, CancellationToken, Task<EmbeddingBatch>> _embed;
    private readonly ResiliencePipeline _pipeline;

    public ResilientEmbeddingDeployment(
        string id,
        DeploymentOptions options,
        EffectiveResilience settings,
        bool acceptsTokens,
        Func<IReadOnlyList<EmbeddingItem>, int?, CancellationToken, Task<EmbeddingBatch>> embed,
        TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(settings);
        Id = id;
        Provider = options.Provider;
        Model = options.Model;
        AcceptsTokens = acceptsTokens;
        _embed = embed;
        _gate = new DeploymentGate(id, settings.MaxConcurrency, settings.QueueLimit, settings.QueueTimeout);
        var builder = new ResiliencePipelineBuilder { Name = $"embeddings/{id}", TimeProvider = time }
            .AddTimeout(new TimeoutStrategyOptions { Name = "total", Timeout = settings.TotalTimeout });
        if (settings.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                Name = "retry",
                MaxRetryAttempts = settings.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = settings.RetryBaseDelay,
                MaxDelay = settings.MaxRetryAfter,
                ShouldHandle = new PredicateBuilder()
                    .Handle<UpstreamException>(e => e.IsTransient && !(e.RetryAfter > settings.MaxRetryAfter))
                    .Handle<TimeoutRejectedException>(),
                DelayGenerator = static args => new ValueTask<TimeSpan?>(
                    args.Outcome.Exception is UpstreamException { RetryAfter: { } retryAfter } ? retryAfter : null),
                OnRetry = _ =>
                {
                    GatewayTelemetry.Retries.Add(1, new KeyValuePair<string, object?>("app.deployment", id));
                    return ValueTask.CompletedTask;
                },
            });
        }

        _pipeline = builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                Name = "breaker",
                FailureRatio = settings.BreakerFailureRatio,
                MinimumThroughput = settings.BreakerMinimumThroughput,
                SamplingDuration = settings.BreakerSamplingDuration,
                BreakDuration = settings.BreakerBreakDuration,
                ShouldHandle = new PredicateBuilder()
                    .Handle<UpstreamException>(e => e.CountsAsFailure)
                    .Handle<TimeoutRejectedException>(),
            })
            .AddTimeout(new TimeoutStrategyOptions { Name = "attempt", Timeout = settings.AttemptTimeout })
            .Build();
    }

    public string Id { get; }

    public string Provider { get; }

    public string Model { get; }

    public bool AcceptsTokens { get; }

    public async Task<EmbeddingBatch> EmbedAsync(IReadOnlyList<EmbeddingItem> items, int? dimensions, CancellationToken cancellationToken)
    {
        using var lease = await _gate.AcquireAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await _pipeline.ExecuteAsync(
                static async (state, token) => await state.Self._embed(state.Items, state.Dimensions, token).ConfigureAwait(false),
                (Self: this, Items: items, Dimensions: dimensions),
                cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new UpstreamException(UpstreamFailureKind.Timeout, $"Deployment {Id} did not answer in time.", inner: ex);
        }
        catch (BrokenCircuitException ex)
        {
            throw new UpstreamException(UpstreamFailureKind.CircuitOpen, $"Deployment {Id} is unavailable (circuit open).", retryAfter: ex.RetryAfter, inner: ex);
        }
    }

    public void Dispose() => _gate.Dispose();
}
