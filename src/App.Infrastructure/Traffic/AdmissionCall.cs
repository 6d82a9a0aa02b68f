using App.Application.Traffic;

namespace App.Infrastructure.Traffic;

/// <summary>One admission as asked: who, for what, when, and the limits and budgets that apply to it.</summary>
internal sealed class AdmissionCall
{
    public AdmissionCall(UsageCaller caller, string alias, long tokens, DateTimeOffset now, TrafficOptions options)
    {
        (Caller, Alias, Tokens, Now, Options) = (caller, alias, tokens, now, options);
        Limits = options.RateLimitsFor(caller.Tenant, alias);
        Budgets = options.BudgetsFor(caller.Tenant);
        var price = options.PriceOf(alias);
        // Priced as if every reserved token were of the dearer kind: the reservation may only err high.
        Cost = price.InputPerMillion > price.OutputPerMillion ? price.NanoDollars(tokens, 0) : price.NanoDollars(0, tokens);
        var unixMs = now.ToUnixTimeMilliseconds();
        (Window, Elapsed) = (unixMs / UsageKeys.WindowMs, unixMs % UsageKeys.WindowMs);
    }

    public UsageCaller Caller { get; }

    public string Alias { get; }

    public long Tokens { get; }

    public long Cost { get; }

    public DateTimeOffset Now { get; }

    public TrafficOptions Options { get; }

    public RateLimitSettings Limits { get; }

    public BudgetSettings Budgets { get; }

    public long Window { get; }

    public long Elapsed { get; }

    public TimeSpan Reset => TimeSpan.FromMilliseconds(UsageKeys.WindowMs - Elapsed);

    /// <summary>The request and token windows as told to the client, with what each has left (null: no such limit).</summary>
    public (RateWindow? Requests, RateWindow? Tokens) Windows(long requestsLeft, long tokensLeft) =>
        (Limits.RequestsPerMinute is { } rpm ? new RateWindow(rpm, Math.Max(0, requestsLeft), Reset) : null,
         Limits.TokensPerMinute is { } tpm ? new RateWindow(tpm, Math.Max(0, tokensLeft), Reset) : null);
}
