namespace App.Application.Traffic;

/// <summary>The answer to one <see cref="IUsageLimiter.AdmitAsync"/>: the verdict and what the client is told in headers.</summary>
public sealed class Admission
{
    public static readonly Admission Unlimited = new() { Verdict = AdmissionVerdict.Admitted };

    public AdmissionVerdict Verdict { get; init; }

    /// <summary>Which limit refused: <c>requests</c>, <c>tokens</c>, <c>daily_tokens</c>, <c>daily_cost</c>, <c>monthly_tokens</c>, <c>monthly_cost</c>.</summary>
    public string? Limit { get; init; }

    public TimeSpan? RetryAfter { get; init; }

    /// <summary>The request and token windows as they stand after this call (null when unlimited or unknown).</summary>
    public RateWindow? Requests { get; init; }

    public RateWindow? Tokens { get; init; }

    /// <summary>What was reserved, to be settled: null when nothing was (refused, disabled, Redis unavailable).</summary>
    public Reservation? Reserved { get; init; }

    public bool IsAdmitted => Verdict == AdmissionVerdict.Admitted;
}
