namespace App.Application.Jobs;

/// <summary><c>Jobs</c>: the background queue for bursty inference.</summary>
public sealed class JobOptions
{
    public const string Section = "Jobs";

    /// <summary>Run workers in this process. Off for API-only replicas; the <c>worker</c> role always runs them.</summary>
    public bool RunWorkers { get; init; } = true;

    /// <summary>Jobs one process runs at once.</summary>
    public int Concurrency { get; init; } = 4;

    /// <summary>Runs of a job before it is dead-lettered.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>A delivered message not acknowledged or kept alive for this long is taken over by another worker.</summary>
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>First retry delay; doubles per attempt (with jitter) up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>A job queued or running with no sign of life for this long is enqueued again (its message was lost).</summary>
    public TimeSpan StaleAfter { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Requests in one job.</summary>
    public int MaxBatchSize { get; init; } = 100;

    /// <summary>How often a worker looks for messages after its last one; idle, it doubles up to <see cref="IdlePollInterval"/>.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest wait between polls of an idle worker (jobs enqueued by the same process wake it at once).</summary>
    public TimeSpan IdlePollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often <c>GET /v1/jobs/{id}/events</c> looks at the job.</summary>
    public TimeSpan EventsInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Redis key of the stream; the delayed set and the dead-letter stream are named after it.</summary>
    public string StreamKey { get; init; } = "app:jobs";
}
