namespace App.Application.Traffic;

/// <summary>A tenant's token and cost budgets per UTC day and month; one left unset is no budget.</summary>
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
