using App.Application.Traffic;

namespace App.Application.Calls;

/// <summary>What happened to one call, filled in as it goes: the trace record and telemetry are made from it.</summary>
public sealed class ChatCallRecord
{
    public CacheStatus Cache { get; set; } = CacheStatus.Bypass;
    public string? DeploymentId { get; set; }
    public string? Provider { get; set; }
    public string? ResponseModel { get; set; }
    public int Retries { get; set; }
    public bool FallbackUsed { get; set; }
    public TimeSpan? TimeToFirstToken { get; set; }
    public long? InputTokens { get; set; }
    public long? OutputTokens { get; set; }
    public string? FinishReason { get; set; }
    public string? ErrorType { get; set; }

    /// <summary>What the input guard found (null when the route does not check).</summary>
    public GuardVerdict? Guard { get; set; }

    /// <summary>What the rate limiter decided, for the RateLimit headers (null when the call was not checked).</summary>
    public Admission? Admission { get; set; }

    /// <summary>The answer's text as the client received it (for the trace; null when nothing was produced).</summary>
    public string? Output { get; set; }
}
