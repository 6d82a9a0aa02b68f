using App.Application.Identity;

namespace App.Application.Traffic;

/// <summary>
/// <c>Traffic</c>: rate limits per user and model, tenant budgets and the price table. Limits are kept in Redis,
/// so every instance sharing a Redis enforces the same ones.
/// </summary>
public sealed class TrafficOptions
{
    public const string Section = "Traffic";

    private static readonly RateLimitSettings Unlimited = new();
    private static readonly BudgetSettings NoBudgets = new();

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
    /// holds across instances exactly as without leases) and grants them only while every limit still has room for
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

    /// <summary>
    /// How many tenants get a <c>tenant</c> label of their own in the spend, token and budget metrics, besides those
    /// named under <see cref="Tenants"/> (always labelled): the first seen by this instance; any other is <c>other</c>.
    /// </summary>
    public int MetricTenants { get; init; } = 100;

    /// <summary>The limits of a tenant's calls on a model; the service's own warm-up has none.</summary>
    public RateLimitSettings RateLimitsFor(string tenant, string alias)
    {
        if (ReservedTenants.IsWarmUp(tenant))
        {
            return Unlimited;
        }

        var tenantLimits = Tenants.TryGetValue(tenant, out var t) ? t.RateLimits : null;
        var limits = tenantLimits ?? RateLimits;
        return limits.Models.TryGetValue(alias, out var byModel) ? byModel : limits;
    }

    /// <summary>A tenant's budgets; the service's own warm-up has none.</summary>
    public BudgetSettings BudgetsFor(string tenant) =>
        ReservedTenants.IsWarmUp(tenant) ? NoBudgets : Tenants.TryGetValue(tenant, out var t) && t.Budgets is { } b ? b : Budgets;

    public ModelPrice PriceOf(string alias) => Prices.TryGetValue(alias, out var p) ? p : ModelPrice.Free;
}
