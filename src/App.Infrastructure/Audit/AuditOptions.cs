namespace App.Infrastructure.Audit;

/// <summary><c>Audit</c>: checkpoints of the audit chains, written outside the database.</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    /// <summary>A file checkpoints are appended to (one JSON line each); they are also logged. Empty: log only.</summary>
    public string? CheckpointFile { get; init; }

    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromMinutes(5);
}
