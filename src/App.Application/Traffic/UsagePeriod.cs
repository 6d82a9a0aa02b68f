namespace App.Application.Traffic;

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
