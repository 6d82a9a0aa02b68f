namespace App.Infrastructure.Traces;

/// <summary>
/// The trace writer's admission (<see cref="TraceWriter.WaitForRoomAsync"/>), for when even catching up is not enough
/// (a full core of cache hits, a slow database): a new call is admitted at once while fewer than three quarters of
/// <c>Traces:QueueCapacity</c> wait; beyond that it waits, costing no CPU (which slows a closed loop of clients to the
/// writer's pace), until the writer takes a batch (<see cref="Taken"/>), and is refused with a 503 only after
/// <c>Traces:AdmissionWait</c>. The last quarter takes the traces of calls already admitted, so a trace is dropped
/// (and counted) only when more calls than that are in flight at once, or when storage fails past its retries.
/// </summary>
/// <param name="capacity">The queue's capacity.</param>
/// <param name="wait">The longest a call waits for room.</param>
/// <param name="queued">How many traces wait now.</param>
/// <param name="closed">Whether the writer is closing (admission no longer matters then).</param>
internal sealed class TraceRoom(int capacity, TimeSpan wait, Func<int> queued, Func<bool> closed)
{
    private readonly int _admitBelow = Math.Max(1, capacity - (capacity / 4));
    // Completed (and replaced) when the writer takes a batch while calls wait; continuations run on the thread pool,
    // never on the writer's low-priority thread.
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _waiting;

    /// <summary>True once there is room (or the writer is closing, when admission no longer matters); false after the wait or a cancellation.</summary>
    public ValueTask<bool> WaitAsync(CancellationToken cancellationToken) =>
        queued() < _admitBelow || closed() ? ValueTask.FromResult(true) : WaitSlowlyAsync(cancellationToken);

    /// <summary>The writer took a batch and <paramref name="queued"/> traces still wait: wakes the calls waiting if there is room.</summary>
    public void Taken(int queued)
    {
        if (Volatile.Read(ref _waiting) > 0 && queued < _admitBelow)
        {
            Interlocked.Exchange(ref _signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    private async ValueTask<bool> WaitSlowlyAsync(CancellationToken cancellationToken)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        Interlocked.Increment(ref _waiting);
        try
        {
            while (true)
            {
                // The signal is read before the count: a batch taken in between leaves room, seen below; one taken after
                // completes the signal held here.
                var room = Volatile.Read(ref _signal).Task;
                if (queued() < _admitBelow || closed())
                {
                    return true;
                }

                var left = wait - waited.Elapsed;
                if (left <= TimeSpan.Zero || cancellationToken.IsCancellationRequested)
                {
                    return false;
                }

                await Task.WhenAny(room, Task.Delay(left, cancellationToken)).ConfigureAwait(false);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }
}
