using Microsoft.Extensions.Options;

namespace App.Application.Traffic;

/// <summary>Checks <see cref="TrafficOptions"/> at start-up, naming the key of every value out of range.</summary>
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

        if (options.MetricTenants is < 0 or > 10_000)
        {
            errors.Add("Traffic:MetricTenants must be between 0 (every tenant is 'other') and 10000.");
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
