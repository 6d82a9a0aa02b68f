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
