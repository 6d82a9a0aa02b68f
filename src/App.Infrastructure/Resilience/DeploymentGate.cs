using System.Threading.RateLimiting;
using App.Application.Gateway;
using App.Application.Routing;

namespace App.Infrastructure.Resilience;

/// <summary>
/// A deployment's concurrency limit with its bounded queue: a call takes a free slot at once, or waits in the queue
/// for <see cref="EffectiveResilience.QueueTimeout"/> at most; a full queue or a wait that runs out is
/// <see cref="UpstreamFailureKind.Saturated"/>, which the client sees as 503 with Retry-After.
/// </summary>
internal sealed class DeploymentGate : IDisposable
{
    private readonly ConcurrencyLimiter _limiter;
    private readonly string _id;
    private readonly TimeSpan _queueTimeout;

    public DeploymentGate(string id, int maxConcurrency, int queueLimit, TimeSpan queueTimeout)
    {
        _id = id;
        _queueTimeout = queueTimeout;
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = maxConcurrency,
            QueueLimit = queueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    public RateLimiterStatistics? Statistics
    {
        get
        {
            try
            {
                return _limiter.GetStatistics();
            }
            catch (ObjectDisposedException)
            {
                return null;
            }
        }
    }

    public ValueTask<RateLimitLease> AcquireAsync(CancellationToken cancellationToken)
    {
        // A free slot (the usual case) is taken at once, without the queue's timer and token source.
        var lease = _limiter.AttemptAcquire(1);
        if (lease.IsAcquired)
        {
            return ValueTask.FromResult(lease);
        }

        lease.Dispose();
        return QueueAsync(cancellationToken);
    }

    private async ValueTask<RateLimitLease> QueueAsync(CancellationToken cancellationToken)
    {
        using var queueTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        queueTimeout.CancelAfter(_queueTimeout);
        RateLimitLease lease;
        try
        {
            lease = await _limiter.AcquireAsync(1, queueTimeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new UpstreamException(UpstreamFailureKind.Saturated, $"Deployment {_id} is at its concurrency limit; the queue wait ran out.", retryAfter: TimeSpan.FromSeconds(1));
        }

        if (!lease.IsAcquired)
        {
            lease.Dispose();
            throw new UpstreamException(UpstreamFailureKind.Saturated, $"Deployment {_id} is at its concurrency limit and its queue is full.", retryAfter: TimeSpan.FromSeconds(1));
        }

        return lease;
    }

    public void Dispose() => _limiter.Dispose();
}
