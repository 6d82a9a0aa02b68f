using Microsoft.Extensions.Options;

namespace App.Application.Traffic;

/// <summary>
/// <c>Traffic</c>: rate limits per user and model, tenant budgets and the price table. Limits are kept in Redis,
/// so every instance sharing a Redis enforces the same ones.
/// </summary>
public sealed class TrafficOptions
{
    public const string Section = "Traffic";

    /// <summary>Off: no limits, no budgets, no usage accounting.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// When Redis cannot answer, let calls through (counted in <c>app.traffic.unenforced</c>) rather than refuse
    /// them. A limit exists to protect the service; refusing everything while Redis restarts would not.
    /// </summary>
    public bool FailOpen { get; init; } = true;

    /// <summary>
    /// Start the upstream call while the admission script is still on its way to and from Redis, for a caller
    /// whose previous admission (less than <see cref="OverlapWindow"/> ago, on this instance) left room for at least
    /// <see cref="OverlapHeadroom"/> more calls like it in every limit and budget. The decision is still Redis's and
    /// still comes before anything reaches the client: a refusal cancels the started call and answers 429 as
    /// always. What a wrong guess costs is one upstream call started and cancelled.
    /// </summary>
    public bool OverlapAdmission { get; init; } = true;

    /// <summary>Calls of room, in every limit and budget, a caller needs for its next call to overlap admission.</summary>
    public int OverlapHeadroom { get; init; } = 20;

    /// <summary>
    /// How long a caller's room, as the last admission measured it, is trusted. Long enough to cover a caller that
    /// sends a call every few seconds (a chat user streaming answers); a wrong guess still costs only a cancelled
    /// upstream call, and needs other instances to use up <see cref="OverlapHeadroom"/> calls of room meanwhile.
    /// </summary>
    public TimeSpan OverlapWindow { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// At most this many calls of one caller and model an instance may admit on its own, without asking Redis,
    /// from a lease: the admission script counts them ahead of time along with the call that asks (so the limit
    /// holds across instances exactly as before) and grants them only while every limit still has room for
    /// <see cref="OverlapHeadroom"/> more calls after them, so near a limit each call is decided in Redis again.
    /// A lease is sized to what the caller sent to this instance lately (a quarter of its calls in the last one
    /// to two <see cref="LeaseTime"/>s), and what it did not use is given back when it runs out of time or minute.
    /// Never for a tenant with a budget: budgets are checked call by call. 0 turns leases off.
    /// </summary>
    public int LeaseCalls { get; init; } = 64;

    /// <summary>How long a lease may be used; then what is left of it is given back to Redis.</summary>
    public TimeSpan LeaseTime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Reserved for the answer before the call when the request sets no max_tokens (reconciled after).</summary>
    public int DefaultOutputReservation { get; init; } = 512;

    /// <summary>Per user and model alias, for every tenant without its own.</summary>
    public RateLimitSettings RateLimits { get; init; } = new() { RequestsPerMinute = 600, TokensPerMinute = 1_000_000 };

    /// <summary>Per tenant, for every tenant without its own. Nothing set: no budget.</summary>
    public BudgetSettings Budgets { get; init; } = new();

    /// <summary>Overrides by tenant id.</summary>
    public Dictionary<string, TenantTraffic> Tenants { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Price by model alias, in US dollars per million tokens. An alias without a price costs nothing.</summary>
    public Dictionary<string, ModelPrice> Prices { get; init; } = new(StringComparer.Ordinal);

    public RateLimitSettings RateLimitsFor(string tenant, string alias)
    {
        var tenantLimits = Tenants.TryGetValue(tenant, out var t) ? t.RateLimits : null;
        var limits = tenantLimits ?? RateLimits;
        return limits.Models.TryGetValue(alias, out var byModel) ? byModel : limits;
    }

    public BudgetSettings BudgetsFor(string tenant) =>
        Tenants.TryGetValue(tenant, out var t) && t.Budgets is { } b ? b : Budgets;

    public ModelPrice PriceOf(string alias) => Prices.TryGetValue(alias, out var p) ? p : ModelPrice.Free;
}

public sealed class RateLimitSettings
{
    /// <summary>Requests a user may start per minute on one model alias (sliding window). Null: unlimited.</summary>
    public int? RequestsPerMinute { get; init; }

    /// <summary>Tokens (prompt plus answer) a user may use per minute on one model alias. Null: unlimited.</summary>
    public long? TokensPerMinute { get; init; }

    /// <summary>Per model alias, replacing the two values above for that alias.</summary>
    public Dictionary<string, RateLimitSettings> Models { get; init; } = new(StringComparer.Ordinal);
}

public sealed class BudgetSettings
{
    public long? DailyTokens { get; init; }

    public long? MonthlyTokens { get; init; }

    /// <summary>US dollars per UTC day.</summary>
    public decimal? DailyCost { get; init; }

    /// <summary>US dollars per UTC calendar month.</summary>
    public decimal? MonthlyCost { get; init; }

    /// <summary>True when any of the four is set.</summary>
    public bool Any => DailyTokens is not null || MonthlyTokens is not null || DailyCost is not null || MonthlyCost is not null;
}

public sealed class TenantTraffic
{
    public RateLimitSettings? RateLimits { get; init; }

    public BudgetSettings? Budgets { get; init; }
}

/// <summary>US dollars per million tokens.</summary>
public sealed class ModelPrice
{
    public static readonly ModelPrice Free = new();

    public decimal InputPerMillion { get; init; }

    public decimal OutputPerMillion { get; init; }

    /// <summary>Cost in nano-dollars (10^-9 USD), the integer unit budgets are kept in.</summary>
    public long NanoDollars(long inputTokens, long outputTokens) =>
        (long)decimal.Round(((inputTokens * InputPerMillion) + (outputTokens * OutputPerMillion)) * 1_000, 0, MidpointRounding.AwayFromZero);
}

public sealed class TrafficOptionsValidator : IValidateOptions<TrafficOptions>
{
    public ValidateOptionsResult Validate(string? name, TrafficOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.DefaultOutputReservation < 1)
        {
            errors.Add("Traffic:DefaultOutputReservation must be at least 1.");
        }

        if (options.OverlapHeadroom is < 1 or > 1_000_000)
        {
            errors.Add("Traffic:OverlapHeadroom must be between 1 and 1000000 calls.");
        }

        if (options.OverlapWindow < TimeSpan.Zero || options.OverlapWindow > TimeSpan.FromMinutes(1))
        {
            errors.Add("Traffic:OverlapWindow must be between 00:00:00 and 00:01:00.");
        }

        if (options.LeaseCalls is < 0 or > 10_000)
        {
            errors.Add("Traffic:LeaseCalls must be between 0 (no leases) and 10000 calls.");
        }

        if (options.LeaseTime < TimeSpan.FromMilliseconds(10) || options.LeaseTime > TimeSpan.FromMinutes(1))
        {
            errors.Add("Traffic:LeaseTime must be between 00:00:00.010 and 00:01:00.");
        }

        Check("Traffic:RateLimits", options.RateLimits, errors);
        Check("Traffic:Budgets", options.Budgets, errors);
        foreach (var (tenant, t) in options.Tenants)
        {
            if (t.RateLimits is { } r)
            {
                Check($"Traffic:Tenants:{tenant}:RateLimits", r, errors);
            }

            if (t.Budgets is { } b)
            {
                Check($"Traffic:Tenants:{tenant}:Budgets", b, errors);
            }
        }

        foreach (var (alias, p) in options.Prices)
        {
            if (p.InputPerMillion < 0 || p.OutputPerMillion < 0 || p.InputPerMillion > 10_000 || p.OutputPerMillion > 10_000)
            {
                errors.Add($"Traffic:Prices:{alias}: prices are US dollars per million tokens, between 0 and 10000.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Check(string path, RateLimitSettings limits, List<string> errors)
    {
        if (limits.RequestsPerMinute is < 1 || limits.TokensPerMinute is < 1)
        {
            errors.Add($"{path}: RequestsPerMinute and TokensPerMinute must be at least 1 (leave unset for no limit).");
        }

        foreach (var (alias, m) in limits.Models)
        {
            Check($"{path}:Models:{alias}", m, errors);
        }
    }

    private static void Check(string path, BudgetSettings budgets, List<string> errors)
    {
        if (budgets.DailyTokens is < 1 || budgets.MonthlyTokens is < 1 || budgets.DailyCost is <= 0 || budgets.MonthlyCost is <= 0)
        {
            errors.Add($"{path}: budgets must be positive (leave unset for no budget).");
        }

        if (budgets.DailyCost > 1_000_000 || budgets.MonthlyCost > 1_000_000)
        {
            errors.Add($"{path}: cost budgets above 1,000,000 USD are not supported (the ledger counts nano-dollars).");
        }
    }
}
