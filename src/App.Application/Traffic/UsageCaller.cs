namespace App.Application.Traffic;

/// <summary>Who is calling: limits are per user and model, budgets per tenant.</summary>
public readonly record struct UsageCaller(string Tenant, string User);
