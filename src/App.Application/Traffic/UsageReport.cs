namespace App.Application.Traffic;

/// <summary>A tenant's usage in the current UTC day and month, each with its budgets.</summary>
public sealed record UsageReport(string Tenant, UsagePeriod Day, UsagePeriod Month);
