namespace App.Application.Traces;

/// <summary>The port the gateway records through: never blocks, never throws.</summary>
public interface ITraceSink
{
    /// <summary>False when the queue is full (the trace is dropped and counted).</summary>
    bool TryRecord(TraceDraft draft);
}
