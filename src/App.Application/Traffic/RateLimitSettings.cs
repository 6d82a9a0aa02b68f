namespace App.Application.Traffic;

/// <summary>Requests and tokens per minute that one user may use on one model alias.</summary>
public sealed class RateLimitSettings
{
    /// <summary>Requests a user may start per minute on one model alias (sliding window). Null: unlimited.</summary>
    public int? RequestsPerMinute { get; init; }

    /// <summary>Tokens (prompt plus answer) a user may use per minute on one model alias. Null: unlimited.</summary>
    public long? TokensPerMinute { get; init; }

    /// <summary>Per model alias, replacing the two values above for that alias.</summary>
    public Dictionary<string, RateLimitSettings> Models { get; init; } = new(StringComparer.Ordinal);
}
