namespace App.Infrastructure.Jobs;

/// <summary>Which part of the service this process runs.</summary>
public sealed class ProcessRole
{
    /// <summary>True in a process started as <c>App.Api worker</c>: workers only, no API endpoints.</summary>
    public bool IsWorker { get; init; }
}
