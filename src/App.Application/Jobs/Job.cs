namespace App.Application.Jobs;

/// <summary>
/// A batch of chat requests run in the background: accepted at once (202), delivered to a worker through a Redis
/// stream, its state and result kept in PostgreSQL under row-level security. The request and result are stored
/// encrypted, like trace content.
/// </summary>
public sealed class Job
{
    public Guid Id { get; init; }

    public required string TenantId { get; init; }

    public required string UserId { get; init; }

    /// <summary>See <see cref="JobStatus"/>.</summary>
    public required string Status { get; set; }

    /// <summary>The model alias of the first request (for listing and filtering).</summary>
    public required string Model { get; init; }

    public int ItemCount { get; init; }

    public int ItemsDone { get; set; }

    /// <summary>Runs started (a run cut short by a crash counts).</summary>
    public int Attempts { get; set; }

    public int MaxAttempts { get; init; }

    /// <summary>Deliveries of an already finished job (a duplicate message): detected and ignored.</summary>
    public int DuplicateDeliveries { get; set; }

    public string? IdempotencyKey { get; init; }

    /// <summary>SHA-256 of the submitted body, to tell a replay from a different request under the same key.</summary>
    public required byte[] RequestHash { get; init; }

    /// <summary>The requests as submitted (a JSON array), encrypted.</summary>
    public required byte[] RequestCiphertext { get; init; }

    /// <summary>The results (a JSON array, one per request), encrypted: those so far while it runs, all once it finishes.</summary>
    public byte[]? ResultCiphertext { get; set; }

    public string? ErrorType { get; set; }

    public string? Error { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>When a job waiting to be retried may run again.</summary>
    public DateTimeOffset? NextAttemptAt { get; set; }

    /// <summary>Last sign of life of the worker running it.</summary>
    public DateTimeOffset? HeartbeatAt { get; set; }

    public string? Worker { get; set; }
}

public static class JobStatus
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string DeadLettered = "dead_lettered";

    public static bool IsFinal(string status) => status is Succeeded or Failed or DeadLettered;
}

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
