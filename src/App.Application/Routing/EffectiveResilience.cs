namespace App.Application.Routing;

public sealed record EffectiveResilience(
    TimeSpan AttemptTimeout,
    TimeSpan TotalTimeout,
    int MaxRetries,
    TimeSpan RetryBaseDelay,
    TimeSpan MaxRetryAfter,
    double BreakerFailureRatio,
    int BreakerMinimumThroughput,
    TimeSpan BreakerSamplingDuration,
    TimeSpan BreakerBreakDuration,
    int MaxConcurrency,
    int QueueLimit,
    TimeSpan QueueTimeout,
    TimeSpan StreamIdleTimeout);
