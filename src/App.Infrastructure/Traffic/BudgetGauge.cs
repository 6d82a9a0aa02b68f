using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using App.Application.Telemetry;
using App.Application.Traffic;

namespace App.Infrastructure.Traffic;

/// <summary>
/// The <c>app.budget.utilization</c> gauge, the share of each tenant budget used so far in its period as the
/// settlements on this instance last saw it, and <c>app.budget.limit</c>, the budget itself, so that a rule can project
/// spend against it.
/// </summary>
internal sealed class BudgetGauge : IDisposable
{
    private static readonly Meter Meter = new(GatewayTelemetry.SourceName);
    private static readonly LiveInstances<BudgetGauge> Live = new();

    private readonly ConcurrentDictionary<(string Tenant, string Period, string Kind), double> _utilization = new();
    private readonly ConcurrentDictionary<(string Tenant, string Period, string Kind), double> _limits = new();
    private readonly IDisposable _registration;

    static BudgetGauge()
    {
        Meter.CreateObservableGauge(
            "app.budget.utilization",
            () => Live.Current.SelectMany(g => Observe(g._utilization)),
            "1",
            "Share of each tenant budget used so far in its period (1 = used up), by tenant, app.budget.period and app.budget.kind.");
        Meter.CreateObservableGauge(
            "app.budget.limit",
            () => Live.Current.SelectMany(g => Observe(g._limits)),
            description: "Each tenant budget, in tokens or USD by app.budget.kind, by tenant and app.budget.period.");
    }

    public BudgetGauge() => _registration = Live.Add(this);

    /// <summary>Takes a period's tokens and cost (nano-dollars) after a settlement; a negative total is unknown and left as it was.</summary>
    public void Track(string tenant, BudgetSettings budgets, (long Tokens, long Cost) day, (long Tokens, long Cost) month)
    {
        Track(tenant, "day", day.Tokens, day.Cost, budgets.DailyTokens, budgets.DailyCost);
        Track(tenant, "month", month.Tokens, month.Cost, budgets.MonthlyTokens, budgets.MonthlyCost);
    }

    public void Dispose() => _registration.Dispose();

    private void Track(string tenant, string period, long tokens, long cost, long? tokenBudget, decimal? costBudget)
    {
        if (tokens >= 0 && tokenBudget is { } tb)
        {
            _utilization[(tenant, period, "tokens")] = (double)tokens / tb;
            _limits[(tenant, period, "tokens")] = tb;
        }

        if (cost >= 0 && costBudget is { } cb)
        {
            _utilization[(tenant, period, "cost")] = cost / 1e9 / (double)cb;
            _limits[(tenant, period, "cost")] = (double)cb;
        }
    }

    private static IEnumerable<Measurement<double>> Observe(ConcurrentDictionary<(string Tenant, string Period, string Kind), double> values) =>
        values.Select(e => new Measurement<double>(
            e.Value,
            new KeyValuePair<string, object?>("tenant", e.Key.Tenant),
            new KeyValuePair<string, object?>("app.budget.period", e.Key.Period),
            new KeyValuePair<string, object?>("app.budget.kind", e.Key.Kind)));
}
