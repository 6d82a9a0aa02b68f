namespace App.Application.Traces;

/// <summary>What became of a model call, as a trace records it.</summary>
public static class TraceStatus
{
    public const string Ok = "ok";
    public const string Error = "error";
    public const string Rejected = "rejected";
    public const string Cancelled = "cancelled";

    public static readonly IReadOnlyList<string> All = [Ok, Error, Rejected, Cancelled];
}
