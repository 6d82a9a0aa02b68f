using System.Diagnostics;
using App.Application.Traffic;

namespace App.Application.Calls;

/// <summary>What happened to one call, filled in as it goes: the trace record and telemetry are made from it.</summary>
public sealed class ChatCallRecord
{
    private long _upstreamTicks;
    private long _upstreamSince;

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

    /// <summary>Whether the call waited on a model provider at all (a cache hit or a refusal did not).</summary>
    public bool CalledUpstream => _upstreamTicks > 0 || _upstreamSince != 0;

    /// <summary>Time spent waiting on model providers so far, a wait in progress included (Server-Timing's split).</summary>
    public TimeSpan UpstreamTime
    {
        get
        {
            var ticks = _upstreamTicks;
            if (_upstreamSince != 0)
            {
                ticks += Stopwatch.GetTimestamp() - _upstreamSince;
            }

            return TimeSpan.FromSeconds((double)ticks / Stopwatch.Frequency);
        }
    }

    /// <summary>A wait on the model provider begins: an attempt, or the next piece of a stream.</summary>
    public void UpstreamBegins() => _upstreamSince = Stopwatch.GetTimestamp();

    /// <summary>The wait begun by <see cref="UpstreamBegins"/> is over, answered or not.</summary>
    public void UpstreamEnds()
    {
        if (_upstreamSince != 0)
        {
            _upstreamTicks += Stopwatch.GetTimestamp() - _upstreamSince;
            _upstreamSince = 0;
        }
    }
}
