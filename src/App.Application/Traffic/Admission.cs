namespace App.Application.Traffic;

/// <summary>
/// The port every model call passes before and after it runs: rate limits per user and model, tenant budgets,
/// usage accounting. Reserve from an estimate first, settle with what the call really used after.
/// </summary>
public interface IUsageLimiter
{
    /// <summary>Reserves one request and <paramref name="estimatedTokens"/> tokens, or says why not.</summary>
    ValueTask<Admission> AdmitAsync(UsageCaller caller, string model, long estimatedTokens, CancellationToken cancellationToken);

    /// <summary>
    /// Whether this caller's last admission on this instance, recently enough, left room for many more calls like
    /// it (see <see cref="TrafficOptions.OverlapAdmission"/>): a hint that the next admission will pass, never a
    /// decision.
    /// </summary>
    bool HasHeadroom(UsageCaller caller, string model);

    /// <summary>Replaces the reservation with the real usage. Never throws; an unsettled reservation expires with its window.</summary>
    ValueTask SettleAsync(Admission admission, CallUsage usage);

    /// <summary>A tenant's usage today and this month, with its budgets.</summary>
    Task<UsageReport> ReportAsync(string tenant, CancellationToken cancellationToken);
}

/// <summary>Who is calling: limits are per user and model, budgets per tenant.</summary>
public readonly record struct UsageCaller(string Tenant, string User);

/// <summary>What a call used. Cache hits use tokens but cost nothing and do not count against the provider limits.</summary>
public readonly record struct CallUsage(long InputTokens, long OutputTokens, bool Cached)
{
    public static readonly CallUsage None = new(0, 0, false);
}

public enum AdmissionVerdict
{
    Admitted,

    /// <summary>Requests or tokens per minute used up; retry after the delay.</summary>
    RateLimited,

    /// <summary>The request alone needs more tokens per minute than the limit allows: it can never pass.</summary>
    TooLarge,

    /// <summary>A tenant budget (tokens or cost, day or month) is used up.</summary>
    BudgetExceeded,
}

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

/// <summary>One rate-limit window as told to the client: its quota, what is left and when it is whole again.</summary>
public readonly record struct RateWindow(long Limit, long Remaining, TimeSpan Reset);

/// <summary>
/// What <see cref="IUsageLimiter.SettleAsync"/> needs to undo or adjust a reservation. The per-minute token window
/// always holds it; the day's and month's ledgers only when the tenant had a budget to check it against
/// (<c>InLedger</c>). A call admitted from a lease (<c>Leased</c>, see <see cref="TrafficOptions.LeaseCalls"/>) was
/// counted in the window ahead of time and is counted in the ledgers' requests when it settles.
/// </summary>
public sealed record Reservation(UsageCaller Caller, string Alias, long Tokens, long CostNanoDollars, string TokenWindowKey, DateTimeOffset At, bool InLedger = true, bool Leased = false);

/// <summary>A tenant's usage in one budget period.</summary>
public sealed record UsagePeriod(
    string Period,
    DateTimeOffset Start,
    DateTimeOffset End,
    long Requests,
    long InputTokens,
    long OutputTokens,
    long CachedTokens,
    decimal Cost,
    long? TokenBudget,
    decimal? CostBudget);

public sealed record UsageReport(string Tenant, UsagePeriod Day, UsagePeriod Month);

/// <summary>Counts prompt tokens before a call, to reserve them against the token limits.</summary>
public interface ITokenEstimator
{
    long CountPrompt(IReadOnlyList<Microsoft.Extensions.AI.ChatMessage> messages);
}
