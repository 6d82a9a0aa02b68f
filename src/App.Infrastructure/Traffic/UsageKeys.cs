using System.Collections.Concurrent;
using System.Globalization;
using App.Application.Traffic;
using StackExchange.Redis;

namespace App.Infrastructure.Traffic;

/// <summary>
/// The Redis keys of the limits and budgets and the windows and periods they are named by: a caller's requests and
/// tokens per minute of one model, a tenant's ledgers per UTC day and month. Every key of a tenant carries the hash
/// tag <c>{t:tenant}</c>, so the scripts that touch several of them also run on Redis Cluster.
/// </summary>
internal static class UsageKeys
{
    /// <summary>The length of a rate window: limits are per minute.</summary>
    public const long WindowMs = 60_000;

    private const string Prefix = "app:";

    // A tenant's budget keys change once a day: made once per tenant and day, not on every settlement.
    private static readonly ConcurrentDictionary<string, (long Day, RedisKey DayKey, RedisKey MonthKey)> BudgetKeyMemo = new(StringComparer.Ordinal);

    /// <summary>The admit script's keys: this and the last minute's requests, then tokens, then the day's and month's ledgers.</summary>
    public static RedisKey[] Admit(UsageCaller caller, string alias, long window, DateTimeOffset now)
    {
        var limitKey = string.Create(CultureInfo.InvariantCulture, $"{Prefix}{{t:{caller.Tenant}}}:rl:{Uri.EscapeDataString(caller.User)}:{Uri.EscapeDataString(alias)}:");
        var (day, month) = Budget(caller.Tenant, now);
        return
        [
            string.Create(CultureInfo.InvariantCulture, $"{limitKey}r:{window}"),
            string.Create(CultureInfo.InvariantCulture, $"{limitKey}r:{window - 1}"),
            string.Create(CultureInfo.InvariantCulture, $"{limitKey}t:{window}"),
            string.Create(CultureInfo.InvariantCulture, $"{limitKey}t:{window - 1}"),
            day,
            month,
        ];
    }

    /// <summary>The tenant's ledgers of the UTC day and month of <paramref name="at"/>.</summary>
    public static (RedisKey Day, RedisKey Month) Budget(string tenant, DateTimeOffset at)
    {
        var day = at.UtcDateTime.Ticks / TimeSpan.TicksPerDay;
        if (BudgetKeyMemo.TryGetValue(tenant, out var memo) && memo.Day == day)
        {
            return (memo.DayKey, memo.MonthKey);
        }

        RedisKey dayKey = string.Create(CultureInfo.InvariantCulture, $"{Prefix}{{t:{tenant}}}:use:d:{at.UtcDateTime:yyyyMMdd}");
        RedisKey monthKey = string.Create(CultureInfo.InvariantCulture, $"{Prefix}{{t:{tenant}}}:use:m:{at.UtcDateTime:yyyyMM}");
        if (BudgetKeyMemo.Count >= 10_000)
        {
            BudgetKeyMemo.Clear();
        }

        BudgetKeyMemo[tenant] = (day, dayKey, monthKey);
        return (dayKey, monthKey);
    }

    /// <summary>When the UTC day and month of <paramref name="now"/> end, and their budgets with them.</summary>
    public static (DateTimeOffset Day, DateTimeOffset Month) PeriodEnds(DateTimeOffset now)
    {
        var day = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero).AddDays(1);
        var month = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
        return (day, month);
    }
}
