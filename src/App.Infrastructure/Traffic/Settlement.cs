using App.Application.Traffic;
using StackExchange.Redis;

namespace App.Infrastructure.Traffic;

/// <summary>One call's settlement: the settle script's keys and increments, and what to account once it has answered.</summary>
internal sealed record Settlement(Reservation Reserved, CallUsage Usage, long Billed, long Cost, RedisKey[] Keys, long[] Args)
{
    // Continuations run elsewhere: a caller awaiting its settlement must not run inside the sending loop.
    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>What replaces <paramref name="reserved"/> with <paramref name="usage"/>, its arguments in the order Settle.lua reads them.</summary>
    public static Settlement For(Reservation reserved, CallUsage usage, TrafficOptions options)
    {
        var price = options.PriceOf(reserved.Alias);
        var tracked = options.BudgetsFor(reserved.Caller.Tenant).Any;
        var (ledgerTokens, ledgerCost) = reserved.InLedger ? (reserved.Tokens, reserved.CostNanoDollars) : (0, 0);
        var billed = usage.Cached ? 0 : usage.InputTokens + usage.OutputTokens;
        var cost = usage.Cached ? 0 : price.NanoDollars(usage.InputTokens, usage.OutputTokens);
        var (day, month) = UsageKeys.Budget(reserved.Caller.Tenant, reserved.At);
        RedisKey[] keys = [reserved.TokenWindowKey, day, month];
        long[] args =
        [
            billed - reserved.Tokens, -ledgerTokens, -ledgerCost, billed,
            usage.Cached ? 0 : usage.InputTokens, usage.Cached ? 0 : usage.OutputTokens, usage.Cached ? usage.InputTokens + usage.OutputTokens : 0, cost,
            reserved.Leased ? 1 : 0,
            tracked ? 1 : 0,
        ];
        return new Settlement(reserved, usage, billed, cost, keys, args);
    }
}
