namespace App.Application.Routing;

/// <summary>Polly settings for one deployment. Unset values fall back to <c>Llm:Resilience</c>, then to these defaults.</summary>
public sealed class ResilienceOptions
{
    public TimeSpan? AttemptTimeout { get; init; }
    public TimeSpan? TotalTimeout { get; init; }
    public int? MaxRetries { get; init; }
    public TimeSpan? RetryBaseDelay { get; init; }
    public TimeSpan? MaxRetryAfter { get; init; }
    public double? BreakerFailureRatio { get; init; }
    public int? BreakerMinimumThroughput { get; init; }
    public TimeSpan? BreakerSamplingDuration { get; init; }
    public TimeSpan? BreakerBreakDuration { get; init; }
    public int? MaxConcurrency { get; init; }
    public int? QueueLimit { get; init; }
    public TimeSpan? QueueTimeout { get; init; }
    public TimeSpan? StreamIdleTimeout { get; init; }

    public EffectiveResilience Resolve(ResilienceOptions? fallback) => new(
        AttemptTimeout ?? fallback?.AttemptTimeout ?? TimeSpan.FromSeconds(30),
        TotalTimeout ?? fallback?.TotalTimeout ?? TimeSpan.FromSeconds(90),
        MaxRetries ?? fallback?.MaxRetries ?? 2,
        RetryBaseDelay ?? fallback?.RetryBaseDelay ?? TimeSpan.FromMilliseconds(200),
        MaxRetryAfter ?? fallback?.MaxRetryAfter ?? TimeSpan.FromSeconds(10),
        BreakerFailureRatio ?? fallback?.BreakerFailureRatio ?? 0.5,
        BreakerMinimumThroughput ?? fallback?.BreakerMinimumThroughput ?? 10,
        BreakerSamplingDuration ?? fallback?.BreakerSamplingDuration ?? TimeSpan.FromSeconds(30),
        BreakerBreakDuration ?? fallback?.BreakerBreakDuration ?? TimeSpan.FromSeconds(15),
        MaxConcurrency ?? fallback?.MaxConcurrency ?? 256,
        QueueLimit ?? fallback?.QueueLimit ?? 512,
        QueueTimeout ?? fallback?.QueueTimeout ?? TimeSpan.FromSeconds(5),
        StreamIdleTimeout ?? fallback?.StreamIdleTimeout ?? TimeSpan.FromSeconds(60));
}
