using System.Runtime.CompilerServices;
using System.Threading.RateLimiting;
using App.Application.Gateway;
using Microsoft.Extensions.AI;

namespace App.Infrastructure.Resilience;

/// <summary>
/// A deployment's stream after its first update: it cuts a stalled upstream, and holds the deployment's concurrency
/// slot until it is disposed, so that a long answer counts against the limit for as long as it runs.
/// </summary>
internal sealed class DeploymentStream(
    IAsyncEnumerator<ChatResponseUpdate> enumerator,
    CancellationTokenSource streamCts,
    RateLimitLease lease,
    TimeSpan idleTimeout,
    CancellationToken requestAborted) : IStreamingCall
{
    private int _disposed;

    public ChatResponseUpdate First { get; } = enumerator.Current;

    public async IAsyncEnumerable<ChatResponseUpdate> ReadRestAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var link = cancellationToken.Register(static s => ((CancellationTokenSource)s!).Cancel(), streamCts);
        while (true)
        {
            // A stalled upstream is cut after idleTimeout without a chunk.
            streamCts.CancelAfter(idleTimeout);
            bool more;
            try
            {
                more = await enumerator.MoveNextAsync().ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (!requestAborted.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new UpstreamException(UpstreamFailureKind.StreamBroken, "The upstream stream stalled.", inner: ex);
            }

            if (!more)
            {
                yield break;
            }

            yield return enumerator.Current;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            // Stops the upstream call if the stream did not run to its end (client gone, error).
            await streamCts.CancelAsync().ConfigureAwait(false);
            await enumerator.DisposeAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            streamCts.Dispose();
            lease.Dispose();
        }
    }
}
