namespace App.Application.Traffic;

/// <summary>
/// What <see cref="IUsageLimiter.SettleAsync"/> needs to undo or adjust a reservation. The per-minute token window
/// always holds it; the day's and month's ledgers only when the tenant had a budget to check it against
/// (<c>InLedger</c>). A call admitted from a lease (<c>Leased</c>, see <see cref="TrafficOptions.LeaseCalls"/>) was
/// counted in the window ahead of time and is counted in the ledgers' requests when it settles.
/// </summary>
public sealed record Reservation(UsageCaller Caller, string Alias, long Tokens, long CostNanoDollars, string TokenWindowKey, DateTimeOffset At, bool InLedger = true, bool Leased = false);
