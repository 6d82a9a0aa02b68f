using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using App.Application.Telemetry;
using App.Application.Traffic;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace App.Infrastructure.Traffic;

/// <summary>
/// Rate limits and budgets in Redis, each decision one atomic script, so any number of instances sharing the
/// Redis enforce one limit. Limits are sliding windows of one minute (the previous minute's count weighted by how
/// much of it still overlaps the last 60 s, plus this minute's); budgets are per UTC day and month. Every key of a
/// tenant carries the hash tag <c>{t:tenant}</c>, so the scripts also run on Redis Cluster.
/// </summary>
internal sealed partial class RedisUsageLimiter : IUsageLimiter, IDisposable
{
    private const long WindowMs = 60_000;
    private const string Prefix = "app:";

    // Reason codes returned by the admit script.
    private const int Ok = 0, Requests = 1, TooLarge = 2, Tokens = 3, DailyTokens = 4, DailyCost = 5, MonthlyTokens = 6, MonthlyCost = 7;

    private const string AdmitScript = """
        local elapsed, w = tonumber(ARGV[1]), tonumber(ARGV[2])
        local rpm, tpm, est, cost = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
        -- room: 1 when, after this call, every limit and budget still holds h more calls like it
        local h, room = tonumber(ARGV[13]), 1
        local weight = (w - elapsed) / w
        local function num(v) return tonumber(v) or 0 end
        -- ms until prev * (w - t) / w + cur + need <= limit, assuming no other call in between
        local function wait(limit, cur, prev, need)
          if cur + need <= limit then
            if prev <= 0 then return 0 end
            return math.max(0, math.ceil(w * (1 - (limit - cur - need) / prev) - elapsed))
          end
          local t = 0
          if cur > 0 then t = math.max(0, w * (1 - (limit - need) / cur)) end
          return math.ceil((w - elapsed) + t)
        end
        local counts = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
        local rc, rp, tc, tp = num(counts[1]), num(counts[2]), num(counts[3]), num(counts[4])
        local rused, tused = rp * weight + rc, tp * weight + tc
        if rpm >= 0 and rused + 1 > rpm then return {1, wait(rpm, rc, rp, 1), math.floor(rpm - rused), math.floor(tpm - tused)} end
        if tpm >= 0 and est > tpm then return {2, 0, math.floor(rpm - rused), math.floor(tpm - tused)} end
        if tpm >= 0 and tused + est > tpm then return {3, wait(tpm, tc, tp, est), math.floor(rpm - rused), math.floor(tpm - tused)} end
        if rpm >= 0 and rpm - rused - 1 < h then room = 0 end
        if tpm >= 0 and tpm - tused - est < h * est then room = 0 end
        local function over(key, toklimit, costlimit, tokcode, costcode)
          if toklimit < 0 and costlimit < 0 then return 0 end
          local v = redis.call('HMGET', key, 'tokens', 'rtokens', 'cost', 'rcost')
          local tokens, spent = num(v[1]) + num(v[2]), num(v[3]) + num(v[4])
          if toklimit >= 0 and tokens + est > toklimit then return tokcode end
          if costlimit >= 0 and spent + cost > costlimit then return costcode end
          if toklimit >= 0 and toklimit - tokens - est < h * est then room = 0 end
          if costlimit >= 0 and costlimit - spent - cost < h * cost then room = 0 end
          return 0
        end
        local b = over(KEYS[5], tonumber(ARGV[7]), tonumber(ARGV[8]), 4, 5)
        if b == 0 then b = over(KEYS[6], tonumber(ARGV[9]), tonumber(ARGV[10]), 6, 7) end
        if b > 0 then return {b, 0, math.floor(rpm - rused), math.floor(tpm - tused)} end
        -- Increments are the arguments as sent (integer strings), never Lua numbers: Lua would format -0 or a
        -- large value in a way Redis refuses as an integer.
        -- A key's expiry is set by the call that creates it (its count is then this call's increment). Windows and
        -- periods are fixed, so it is the same moment every later call would set, and each redis.call costs
        -- Redis about a microsecond.
        if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2] * 2) end
        if redis.call('INCRBY', KEYS[3], ARGV[5]) == est then redis.call('PEXPIRE', KEYS[3], ARGV[2] * 2) end
        -- The ledgers hold reservations only for a tenant with a budget (ARGV[14] = 1), the one reader of them.
        for i = 5, 6 do
          if redis.call('HINCRBY', KEYS[i], 'requests', 1) == 1 then redis.call('EXPIRE', KEYS[i], ARGV[i + 6]) end
          if ARGV[14] == '1' then
            redis.call('HINCRBY', KEYS[i], 'rtokens', ARGV[5])
            redis.call('HINCRBY', KEYS[i], 'rcost', ARGV[6])
          end
        end
        return {0, 0, math.floor(rpm - rused - 1), math.floor(tpm - tused - est), room}
        """;

    // Every argument is an integer string computed by the caller and passed through as is (see the admit script).
    // ARGV[2..8] are the increments of the fields below, in order; a field whose increment is zero is not written
    // (a cache hit bills no tokens and no cost: 4 of the 7).
    private const string SettleScript = """
        if ARGV[1] ~= '0' and redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCRBY', KEYS[1], ARGV[1]) end
        local fields = {'rtokens', 'rcost', 'tokens', 'input', 'output', 'cached', 'cost'}
        local totals = {}
        for i = 2, 3 do
          if redis.call('EXISTS', KEYS[i]) == 1 then
            local t, c = nil, nil
            for f = 1, 7 do
              if ARGV[f + 1] ~= '0' then
                local v = redis.call('HINCRBY', KEYS[i], fields[f], ARGV[f + 1])
                if f == 3 then t = v elseif f == 7 then c = v end
              end
            end
            -- The period's totals feed the budget-utilization gauge; without a budget (ARGV[9] = 0) nobody reads them.
            if ARGV[9] == '0' then
              t, c = -1, -1
            elseif t == nil or c == nil then
              local v = redis.call('HMGET', KEYS[i], 'tokens', 'cost')
              t, c = v[1] or 0, v[2] or 0
            end
            table.insert(totals, t)
            table.insert(totals, c)
          else
            table.insert(totals, -1)
            table.insert(totals, -1)
          end
        end
        return totals
        """;

    private static readonly RedisScript Admit = new(AdmitScript), Settle = new(SettleScript);
    private static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(10);

    private readonly IConnectionMultiplexer _redis;
    private readonly IOptionsMonitor<TrafficOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RedisUsageLimiter> _logger;
    private readonly Meter _meter = new(GatewayTelemetry.SourceName);
    private readonly ConcurrentDictionary<(string Tenant, string Period, string Kind), double> _utilization = new();

    // The room each caller's last admission left (see TrafficOptions.OverlapAdmission), in a fixed table indexed
    // by a hash: bounded however many callers there are. A slot names its caller, so a collision only forgets.
    private readonly Room?[] _rooms = new Room?[4096];

    // Settlements waiting for the one in flight to answer (see SettleAsync).
    private readonly Lock _settleGate = new();
    private List<Settlement> _settleQueue = [];
    private bool _settling;
    private long _lastLoggedTicks;

    public RedisUsageLimiter(IConnectionMultiplexer redis, IOptionsMonitor<TrafficOptions> options, TimeProvider time, ILogger<RedisUsageLimiter> logger)
    {
        _redis = redis;
        _options = options;
        _time = time;
        _logger = logger;
        _meter.CreateObservableGauge(
            "app.budget.utilization",
            ObserveUtilization,
            "1",
            "Share of each tenant budget used so far in its period (1 = used up), by tenant, app.budget.period and app.budget.kind.");
    }

    public void Dispose() => _meter.Dispose();

    public async ValueTask<Admission> AdmitAsync(UsageCaller caller, string model, long estimatedTokens, CancellationToken cancellationToken)
    {
        var alias = model;
        var options = _options.CurrentValue;
        if (!options.Enabled)
        {
            return Admission.Unlimited;
        }

        var now = _time.GetUtcNow();
        var limits = options.RateLimitsFor(caller.Tenant, alias);
        var budgets = options.BudgetsFor(caller.Tenant);
        var price = options.PriceOf(alias);
        // Priced as if every reserved token were of the dearer kind: the reservation may only err high.
        var estimatedCost = price.InputPerMillion > price.OutputPerMillion ? price.NanoDollars(estimatedTokens, 0) : price.NanoDollars(0, estimatedTokens);
        var unixMs = now.ToUnixTimeMilliseconds();
        var window = unixMs / WindowMs;
        var elapsed = unixMs % WindowMs;
        var keys = AdmitKeys(caller, alias, window, now);
        var (dayEnd, monthEnd) = PeriodEnds(now);
        RedisValue[] args =
        [
            elapsed, WindowMs,
            limits.RequestsPerMinute ?? -1, limits.TokensPerMinute ?? -1,
            estimatedTokens, estimatedCost,
            budgets.DailyTokens ?? -1, ToNano(budgets.DailyCost), budgets.MonthlyTokens ?? -1, ToNano(budgets.MonthlyCost),
            (long)(dayEnd - now).TotalSeconds + (2 * 86_400), (long)(monthEnd - now).TotalSeconds + (35 * 86_400),
            options.OverlapHeadroom,
            budgets.Any ? 1 : 0,
        ];

        RedisResult[] result;
        try
        {
            result = (RedisResult[])(await Admit.EvaluateAsync(_redis.GetDatabase(), keys, args).ConfigureAwait(false))!;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            Remember(caller, alias, false, options);
            return Unavailable(options, ex);
        }

        var code = (int)result[0];
        Remember(caller, alias, code == Ok && (long)result[4] == 1, options);
        var retryMs = (long)result[1];
        var reset = TimeSpan.FromMilliseconds(WindowMs - elapsed);
        var requests = limits.RequestsPerMinute is { } rpm ? new RateWindow(rpm, Math.Max(0, (long)result[2]), reset) : (RateWindow?)null;
        var tokens = limits.TokensPerMinute is { } tpm ? new RateWindow(tpm, Math.Max(0, (long)result[3]), reset) : (RateWindow?)null;
        if (code == Ok)
        {
            return new Admission
            {
                Verdict = AdmissionVerdict.Admitted,
                Requests = requests,
                Tokens = tokens,
                Reserved = new Reservation(caller, alias, estimatedTokens, estimatedCost, keys[2]!, now, budgets.Any),
            };
        }

        var (verdict, limit, retryAfter) = code switch
        {
            Requests => (AdmissionVerdict.RateLimited, "requests", TimeSpan.FromMilliseconds(Math.Max(retryMs, 1))),
            Tokens => (AdmissionVerdict.RateLimited, "tokens", TimeSpan.FromMilliseconds(Math.Max(retryMs, 1))),
            TooLarge => (AdmissionVerdict.TooLarge, "tokens", (TimeSpan?)null),
            DailyTokens => (AdmissionVerdict.BudgetExceeded, "daily_tokens", dayEnd - now),
            DailyCost => (AdmissionVerdict.BudgetExceeded, "daily_cost", dayEnd - now),
            MonthlyTokens => (AdmissionVerdict.BudgetExceeded, "monthly_tokens", monthEnd - now),
            MonthlyCost => (AdmissionVerdict.BudgetExceeded, "monthly_cost", monthEnd - now),
            _ => throw new InvalidOperationException($"The admit script answered {code}."),
        };
        GatewayTelemetry.TrafficRefusals.Add(1, new KeyValuePair<string, object?>("app.traffic.limit", limit));
        return new Admission { Verdict = verdict, Limit = limit, RetryAfter = retryAfter, Requests = requests, Tokens = tokens };
    }

    public bool HasHeadroom(UsageCaller caller, string model)
    {
        var options = _options.CurrentValue;
        if (!options.Enabled || !options.OverlapAdmission)
        {
            return false;
        }

        var room = Volatile.Read(ref _rooms[SlotOf(caller, model)]);
        return room is not null && room.Of(caller, model) && room.Until > _time.GetTimestamp();
    }

    private void Remember(UsageCaller caller, string alias, bool roomy, TrafficOptions options)
    {
        if (!options.OverlapAdmission)
        {
            return;
        }

        ref var slot = ref _rooms[SlotOf(caller, alias)];
        var room = Volatile.Read(ref slot);
        var mine = room is not null && room.Of(caller, alias);
        if (roomy)
        {
            var until = _time.GetTimestamp() + (long)(options.OverlapWindow.TotalSeconds * _time.TimestampFrequency);
            if (mine)
            {
                room!.Until = until; // the caller's own slot: renewed in place, no allocation per call
            }
            else
            {
                Volatile.Write(ref slot, new Room(caller.Tenant, caller.User, alias) { Until = until });
            }
        }
        else if (mine)
        {
            Volatile.Write(ref slot, null);
        }
    }

    private int SlotOf(UsageCaller caller, string alias) => HashCode.Combine(caller.Tenant, caller.User, alias) & (_rooms.Length - 1);

    /// <summary>
    /// Settlements are group-committed: the first one is sent at once, and those that arrive while it is on its way
    /// go together in the next write (one <see cref="IBatch"/>), so under load a settlement costs a fraction of a
    /// write to Redis instead of one each. Each caller's task still completes when its own script has answered.
    /// </summary>
    public ValueTask SettleAsync(Admission admission, CallUsage usage)
    {
        ArgumentNullException.ThrowIfNull(admission);
        if (admission.Reserved is not { } reserved)
        {
            return ValueTask.CompletedTask;
        }

        var options = _options.CurrentValue;
        var price = options.PriceOf(reserved.Alias);
        var tracked = options.BudgetsFor(reserved.Caller.Tenant).Any;
        var (ledgerTokens, ledgerCost) = reserved.InLedger ? (reserved.Tokens, reserved.CostNanoDollars) : (0, 0);
        var billed = usage.Cached ? 0 : usage.InputTokens + usage.OutputTokens;
        var cost = usage.Cached ? 0 : price.NanoDollars(usage.InputTokens, usage.OutputTokens);
        var (day, month) = BudgetKeys(reserved.Caller.Tenant, reserved.At);
        RedisKey[] keys = [reserved.TokenWindowKey, day, month];
        long[] args =
        [
            billed - reserved.Tokens, -ledgerTokens, -ledgerCost, billed,
            usage.Cached ? 0 : usage.InputTokens, usage.Cached ? 0 : usage.OutputTokens, usage.Cached ? usage.InputTokens + usage.OutputTokens : 0, cost,
            tracked ? 1 : 0,
        ];
        var settlement = new Settlement(reserved, usage, billed, cost, keys, args);
        lock (_settleGate)
        {
            _settleQueue.Add(settlement);
            if (_settling)
            {
                return new ValueTask(settlement.Done.Task);
            }

            _settling = true;
        }

        _ = SendSettlementsAsync();
        return new ValueTask(settlement.Done.Task);
    }

    private async Task SendSettlementsAsync()
    {
        var sending = new List<Settlement>();
        while (true)
        {
            lock (_settleGate)
            {
                if (_settleQueue.Count == 0)
                {
                    _settling = false;
                    return;
                }

                (sending, _settleQueue) = (_settleQueue, sending);
            }

            var (groupOf, calls) = Merge(sending);
            var replies = new Task<RedisResult>[calls.Count];
            try
            {
                var db = _redis.GetDatabase();
                if (calls.Count == 1)
                {
                    replies[0] = Settle.EvaluateAsync(db, calls[0].Keys, Values(calls[0].Args));
                }
                else
                {
                    var batch = db.CreateBatch();
                    for (var i = 0; i < calls.Count; i++)
                    {
                        replies[i] = Settle.EvaluateAsync(batch, db, calls[i].Keys, Values(calls[i].Args));
                    }

                    batch.Execute();
                }
            }
            catch (Exception ex)
            {
                // Not sent (a batch not executed never answers): all of it fails alike, and its reservations expire
                // with their keys.
                Array.Fill(replies, Task.FromException<RedisResult>(ex));
            }

            for (var i = 0; i < sending.Count; i++)
            {
                var s = sending[i];
                try
                {
                    var totals = (RedisResult[])(await replies[groupOf[i]].ConfigureAwait(false))!;
                    Account(s.Reserved, s.Usage, s.Billed, s.Cost, totals);
                }
                catch (Exception ex)
                {
                    // Whatever went wrong, the loop goes on for the others. The reservation stays counted until its
                    // window and period keys expire: the limit errs on the safe side.
                    Failed("settle", ex);
                }

                s.Done.TrySetResult();
            }

            sending.Clear();
        }
    }

    /// <summary>
    /// Settlements of one caller, model and minute (the same three keys) go as one script call: every one of their
    /// arguments is an increment, so applying the sum is applying each (the last is the budget flag, the same for
    /// all of a tenant's). Under load most of a group commit is the same few callers.
    /// </summary>
    internal static (int[] GroupOf, List<(RedisKey[] Keys, long[] Args)> Calls) Merge(List<Settlement> sending)
    {
        var groupOf = new int[sending.Count];
        var calls = new List<(RedisKey[] Keys, long[] Args)>(sending.Count);
        if (sending.Count == 1)
        {
            calls.Add((sending[0].Keys, sending[0].Args));
            return (groupOf, calls);
        }

        var index = new Dictionary<(string?, string?, string?), int>();
        for (var i = 0; i < sending.Count; i++)
        {
            var (keys, args) = (sending[i].Keys, sending[i].Args);
            var id = ((string?)keys[0], (string?)keys[1], (string?)keys[2]);
            if (!index.TryGetValue(id, out var group))
            {
                group = calls.Count;
                index.Add(id, group);
                calls.Add((keys, (long[])args.Clone()));
            }
            else
            {
                var sum = calls[group].Args;
                for (var a = 0; a < sum.Length - 1; a++)
                {
                    sum[a] += args[a];
                }

                sum[^1] = Math.Max(sum[^1], args[^1]);
            }

            groupOf[i] = group;
        }

        return (groupOf, calls);
    }

    private static RedisValue[] Values(long[] args) => Array.ConvertAll(args, a => (RedisValue)a);

    public async Task<UsageReport> ReportAsync(string tenant, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var budgets = _options.CurrentValue.BudgetsFor(tenant);
        var (dayKey, monthKey) = BudgetKeys(tenant, now);
        var db = _redis.GetDatabase();
        var dayTask = db.HashGetAllAsync(dayKey);
        var monthTask = db.HashGetAllAsync(monthKey);
        var dayStart = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        var monthStart = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var (dayEnd, monthEnd) = PeriodEnds(now);
        return new UsageReport(
            tenant,
            Period("day", dayStart, dayEnd, await dayTask.ConfigureAwait(false), budgets.DailyTokens, budgets.DailyCost),
            Period("month", monthStart, monthEnd, await monthTask.ConfigureAwait(false), budgets.MonthlyTokens, budgets.MonthlyCost));
    }

    private static UsagePeriod Period(string name, DateTimeOffset start, DateTimeOffset end, HashEntry[] entries, long? tokenBudget, decimal? costBudget)
    {
        long Get(string field) => entries.FirstOrDefault(e => e.Name == field).Value is { IsNull: false } v ? (long)v : 0;
        return new UsagePeriod(name, start, end, Get("requests"), Get("input"), Get("output"), Get("cached"), Get("cost") / 1_000_000_000m, tokenBudget, costBudget);
    }

    private static RedisKey[] AdmitKeys(UsageCaller caller, string alias, long window, DateTimeOffset now)
    {
        var limitKey = string.Create(CultureInfo.InvariantCulture, $"{Prefix}{{t:{caller.Tenant}}}:rl:{Uri.EscapeDataString(caller.User)}:{Uri.EscapeDataString(alias)}:");
        var (day, month) = BudgetKeys(caller.Tenant, now);
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

    private static (RedisKey Day, RedisKey Month) BudgetKeys(string tenant, DateTimeOffset at) =>
        (string.Create(CultureInfo.InvariantCulture, $"{Prefix}{{t:{tenant}}}:use:d:{at.UtcDateTime:yyyyMMdd}"),
         string.Create(CultureInfo.InvariantCulture, $"{Prefix}{{t:{tenant}}}:use:m:{at.UtcDateTime:yyyyMM}"));

    private static (DateTimeOffset Day, DateTimeOffset Month) PeriodEnds(DateTimeOffset now)
    {
        var day = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero).AddDays(1);
        var month = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
        return (day, month);
    }

    private static long ToNano(decimal? dollars) => dollars is { } d ? (long)(d * 1_000_000_000m) : -1;

    private Admission Unavailable(TrafficOptions options, Exception ex)
    {
        Failed("admit", ex);
        if (options.FailOpen)
        {
            GatewayTelemetry.TrafficUnenforced.Add(1);
            return Admission.Unlimited;
        }

        GatewayTelemetry.TrafficRefusals.Add(1, new KeyValuePair<string, object?>("app.traffic.limit", "unavailable"));
        return new Admission { Verdict = AdmissionVerdict.RateLimited, Limit = "unavailable", RetryAfter = TimeSpan.FromSeconds(1) };
    }

    private void Account(Reservation reserved, CallUsage usage, long billed, long cost, RedisResult[] totals)
    {
        var tenant = new KeyValuePair<string, object?>("tenant", reserved.Caller.Tenant);
        var model = new KeyValuePair<string, object?>("gen_ai.request.model", reserved.Alias);
        if (cost > 0)
        {
            GatewayTelemetry.Spend.Add(cost / 1e9, tenant, model);
        }

        if (billed > 0)
        {
            GatewayTelemetry.UsageTokens.Add(usage.InputTokens, tenant, model, new("app.usage.kind", "input"));
            GatewayTelemetry.UsageTokens.Add(usage.OutputTokens, tenant, model, new("app.usage.kind", "output"));
        }
        else if (usage.Cached)
        {
            GatewayTelemetry.UsageTokens.Add(usage.InputTokens + usage.OutputTokens, tenant, model, new("app.usage.kind", "cached"));
        }

        var budgets = _options.CurrentValue.BudgetsFor(reserved.Caller.Tenant);
        Track(reserved.Caller.Tenant, "day", (long)totals[0], (long)totals[1], budgets.DailyTokens, budgets.DailyCost);
        Track(reserved.Caller.Tenant, "month", (long)totals[2], (long)totals[3], budgets.MonthlyTokens, budgets.MonthlyCost);
    }

    private void Track(string tenant, string period, long tokens, long cost, long? tokenBudget, decimal? costBudget)
    {
        if (tokens >= 0 && tokenBudget is { } tb)
        {
            _utilization[(tenant, period, "tokens")] = (double)tokens / tb;
        }

        if (cost >= 0 && costBudget is { } cb)
        {
            _utilization[(tenant, period, "cost")] = cost / 1e9 / (double)cb;
        }
    }

    private IEnumerable<Measurement<double>> ObserveUtilization() =>
        _utilization.Select(e => new Measurement<double>(
            e.Value,
            new KeyValuePair<string, object?>("tenant", e.Key.Tenant),
            new KeyValuePair<string, object?>("app.budget.period", e.Key.Period),
            new KeyValuePair<string, object?>("app.budget.kind", e.Key.Kind)));

    private void Failed(string operation, Exception ex)
    {
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastLoggedTicks);
        if ((last == 0 || _time.GetElapsedTime(last, now) > LogEvery) && Interlocked.CompareExchange(ref _lastLoggedTicks, now, last) == last)
        {
            LogUnavailable(operation, ex.GetType().Name, ex.Message, _options.CurrentValue.FailOpen);
        }
    }

    private sealed class Room(string tenant, string user, string alias)
    {
        private long _until;

        public long Until
        {
            get => Volatile.Read(ref _until);
            set => Volatile.Write(ref _until, value);
        }

        public bool Of(UsageCaller caller, string model) =>
            string.Equals(tenant, caller.Tenant, StringComparison.Ordinal)
            && string.Equals(user, caller.User, StringComparison.Ordinal)
            && string.Equals(alias, model, StringComparison.Ordinal);
    }

    internal sealed record Settlement(Reservation Reserved, CallUsage Usage, long Billed, long Cost, RedisKey[] Keys, long[] Args)
    {
        // Continuations run elsewhere: a caller awaiting its settlement must not run inside the sending loop.
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rate limit {Operation} failed ({ErrorType}: {Error}); fail open: {FailOpen}")]
    private partial void LogUnavailable(string operation, string errorType, string error, bool failOpen);
}
