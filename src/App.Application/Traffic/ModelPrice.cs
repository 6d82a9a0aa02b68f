namespace App.Application.Traffic;

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
