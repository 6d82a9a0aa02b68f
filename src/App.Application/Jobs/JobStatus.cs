namespace App.Application.Jobs;

public static class JobStatus
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string DeadLettered = "dead_lettered";

    public static bool IsFinal(string status) => status is Succeeded or Failed or DeadLettered;
}
