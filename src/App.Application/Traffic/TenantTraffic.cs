namespace App.Application.Traffic;

/// <summary><c>Traffic:Tenants:&lt;tenant&gt;</c>: a tenant's own limits and budgets, each replacing the default when set.</summary>
public sealed class TenantTraffic
{
    public RateLimitSettings? RateLimits { get; init; }

    public BudgetSettings? Budgets { get; init; }
}
