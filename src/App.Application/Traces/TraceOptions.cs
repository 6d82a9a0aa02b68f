namespace App.Application.Traces;

/// <summary><c>Traces</c>: what is captured and how it is written.</summary>
public sealed class TraceOptions
{
    public const string Section = "Traces";

    public bool Enabled { get; init; } = true;

    /// <summary><c>Off</c>: no content. <c>Redacted</c> (default): personal data and secrets replaced, then encrypted. <c>Full</c>: encrypted as is.</summary>
    public ContentCapture Content { get; init; } = ContentCapture.Redacted;

    /// <summary>
    /// Traces waiting to be written. From three quarters of it new calls wait for room (<see cref="AdmissionWait"/>);
    /// the last quarter is for calls already in flight, and only beyond it is a trace dropped and counted.
    /// </summary>
    public int QueueCapacity { get; init; } = 10_000;

    /// <summary>
    /// How long a new call waits for the writer to make room in a queue three quarters full before it is refused
    /// with 503 and <c>Retry-After</c>: the writer fell behind the load, and admitting the call would risk its trace.
    /// </summary>
    public TimeSpan AdmissionWait { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long traces are kept: a month partition of <c>app.traces</c> whose every row is older is dropped whole (after
    /// each migration and by the <c>traces-retention</c> command). Null (configured empty): kept for ever.
    /// </summary>
    public TimeSpan? Retention { get; init; } = TimeSpan.FromDays(90);

    public int BatchSize { get; init; } = 500;

    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The writer's thread runs at the lowest CPU priority, so requests take the core from it at once; when its queue is
    /// half full it catches up at normal priority. Off: it always runs at normal priority.
    /// </summary>
    public bool LowPriority { get; init; } = true;

    /// <summary>Content longer than this (characters) is cut before redaction and encryption.</summary>
    public int MaxContentChars { get; init; } = 32_768;

    /// <summary>
    /// A file of this instance's own where the writer notes how many accepted traces are not stored yet, so that the
    /// next start counts what a crash lost (<c>app.traces.lost_at_crash</c>). Empty: not kept.
    /// </summary>
    public string? LedgerPath { get; init; }
}
