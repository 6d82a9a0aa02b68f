namespace App.Application.Traces;

/// <summary>The port the gateway records through: never blocks, never throws.</summary>
public interface ITraceSink
{
    /// <summary>False when the queue is full (the trace is dropped and counted).</summary>
    bool TryRecord(TraceDraft draft);

    /// <summary>
    /// Admission for a call whose trace will be recorded: true at once while the queue keeps room for the calls
    /// already in flight; otherwise true as soon as the writer makes room, or false once <c>Traces:AdmissionWait</c>
    /// has passed or the caller gave up. A call admitted here is never the one whose trace is dropped for a full queue.
    /// </summary>
    ValueTask<bool> WaitForRoomAsync(CancellationToken cancellationToken);
}
