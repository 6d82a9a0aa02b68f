using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using App.Application.Telemetry;
using App.Application.Traffic;
using App.Infrastructure.Redis;
using Microsoft.Extensions.Hosting;
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
internal sealed partial class RedisUsageLimiter : IUsageLimiter, IHostedService, IDisposable
{
    private const long WindowMs = 60_000;
    private const string Prefix = "app:";

    // Reason codes returned by the admit script.
    private const int Ok = 0, Requests = 1, TooLarge = 2, Tokens = 3, DailyTokens = 4, DailyCost = 5, MonthlyTokens = 6, MonthlyCost = 7;

    private static readonly RedisScript Admit = RedisScript.Load("Traffic/Admit.lua"), Settle = RedisScript.Load("Traffic/Settle.lua"), GiveBackLease = RedisScript.Load("Traffic/GiveBack.lua");
    private static readonly TimeSpan GiveBackWait = TimeSpan.FromSeconds(2);

    private readonly IConnectionMultiplexer _redis;
    private readonly IOptionsMonitor<TrafficOptions> _options;
    private readonly Throttle _logging;
    private readonly TimeProvider _time;
    private readonly ILogger<RedisUsageLimiter> _logger;
    private readonly Meter _meter = new(GatewayTelemetry.SourceName);
    private readonly ConcurrentDictionary<(string Tenant, string Period, string Kind), double> _utilization = new();

    // What this instance knows of each caller and model: the room its last admission left (see
    // TrafficOptions.OverlapAdmission) and the lease it holds (TrafficOptions.LeaseCalls), in a fixed table indexed
    // by a hash: bounded however many callers there are. A slot names its caller, so a collision only forgets (and
    // gives the lease back).
    private readonly CallerState?[] _callers = new CallerState?[4096];
    private readonly ITimer _sweeper;
    private readonly ConcurrentDictionary<Task, byte> _givingBack = new();
    private bool _stopped;

    // Settlements waiting for the one in flight to answer (see SettleAsync).
    private readonly Lock _settleGate = new();
    private List<Settlement> _settleQueue = [];
    private bool _settling;

    public RedisUsageLimiter(IConnectionMultiplexer redis, IOptionsMonitor<TrafficOptions> options, TimeProvider time, ILogger<RedisUsageLimiter> logger)
    {
        _redis = redis;
        _options = options;
        _time = time;
        _logging = new Throttle(TimeSpan.FromSeconds(10), time);
        _logger = logger;
        _meter.CreateObservableGauge(
            "app.budget.utilization",
            ObserveUtilization,
            "1",
            "Share of each tenant budget used so far in its period (1 = used up), by tenant, app.budget.period and app.budget.kind.");
        var sweep = options.CurrentValue.LeaseTime;
        _sweeper = time.CreateTimer(_ => Sweep(all: false), null, sweep, sweep);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// When the host stops (Redis still there): no more leases, and every lease still held is given back, so that
    /// what this instance did not use is free at once for the others.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _sweeper.DisposeAsync().ConfigureAwait(false);
        try
        {
            await GiveBackAll().WaitAsync(GiveBackWait, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // What was not given back stays counted until the minute's keys expire: the limit errs on the safe side.
        }
    }

    /// <summary>Leases taken after the host stopped (or without a host) are given back here, waiting for Redis a moment.</summary>
    public void Dispose()
    {
        _sweeper.Dispose();
        GiveBackAll().Wait(GiveBackWait); // the give-backs never throw
        _meter.Dispose();
    }

    /// <summary>No more leases; every lease still held is sent back. Completes when Redis has answered them all.</summary>
    private Task GiveBackAll()
    {
        Volatile.Write(ref _stopped, true);
        Sweep(all: true);
        return Task.WhenAll(_givingBack.Keys);
    }

    public async ValueTask<Admission> AdmitAsync(UsageCaller caller, string model, long estimatedTokens, CancellationToken cancellationToken)
    {
        var options = _options.CurrentValue;
        if (!options.Enabled)
        {
            return Admission.Unlimited;
        }

        var call = new Call(caller, model, estimatedTokens, _time.GetUtcNow(), options);
        var state = StateOf(caller, model);
        var ask = 0;
        if (options.LeaseCalls > 0 && !call.Budgets.Any && !Volatile.Read(ref _stopped))
        {
            var take = state.TryTake(call.Window, estimatedTokens, _time.GetTimestamp(), LeaseTicks(options), options.LeaseCalls, counted: false);
            if (take.Arriving is { } arriving)
            {
                // The lease is used up and the next is on its way: wait for it (the round trip this call would
                // make anyway), then try once more.
                await arriving.ConfigureAwait(false);
                take = state.TryTake(call.Window, estimatedTokens, _time.GetTimestamp(), LeaseTicks(options), options.LeaseCalls, counted: true);
            }

            if (take.Expired is { } expired)
            {
                GiveBack(expired);
            }

            if (take.Lease is { } lease)
            {
                if (take.Ask > 0)
                {
                    // Half of the lease is used: the next one is asked for while this one still serves.
                    _ = PrefetchAsync(state, call, take.Ask);
                }

                GatewayTelemetry.TrafficLeased.Add(1);
                var (leftRequests, leftTokens) = call.Windows(take.RequestsLeft, take.TokensLeft);
                return new Admission
                {
                    Verdict = AdmissionVerdict.Admitted,
                    Requests = leftRequests,
                    Tokens = leftTokens,
                    Reserved = new Reservation(caller, model, estimatedTokens, call.Cost, lease.TokenKey, call.Now, InLedger: false, Leased: true),
                };
            }

            ask = take.Ask;
        }

        RedisResult[] result;
        RedisKey[] keys;
        try
        {
            (result, keys) = await SendAdmitAsync(call, ask, own: 1).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            if (ask > 0)
            {
                state.Hold(null);
            }

            if (ex is RedisException or TimeoutException or ObjectDisposedException)
            {
                Remember(state, false, options);
                return Unavailable(options, ex);
            }

            throw;
        }

        var code = (int)result[0];
        Remember(state, code == Ok && (long)result[4] == 1, options);
        if (ask > 0)
        {
            Receive(state, call, code, result, keys);
        }

        var retryMs = (long)result[1];
        var (requests, tokens) = call.Windows((long)result[2], (long)result[3]);
        if (code == Ok)
        {
            return new Admission
            {
                Verdict = AdmissionVerdict.Admitted,
                Requests = requests,
                Tokens = tokens,
                Reserved = new Reservation(caller, model, estimatedTokens, call.Cost, keys[2]!, call.Now, call.Budgets.Any),
            };
        }

        var (dayEnd, monthEnd) = PeriodEnds(call.Now);
        var (verdict, limit, retryAfter) = code switch
        {
            Requests => (AdmissionVerdict.RateLimited, "requests", TimeSpan.FromMilliseconds(Math.Max(retryMs, 1))),
            Tokens => (AdmissionVerdict.RateLimited, "tokens", TimeSpan.FromMilliseconds(Math.Max(retryMs, 1))),
            TooLarge => (AdmissionVerdict.TooLarge, "tokens", (TimeSpan?)null),
            DailyTokens => (AdmissionVerdict.BudgetExceeded, "daily_tokens", dayEnd - call.Now),
            DailyCost => (AdmissionVerdict.BudgetExceeded, "daily_cost", dayEnd - call.Now),
            MonthlyTokens => (AdmissionVerdict.BudgetExceeded, "monthly_tokens", monthEnd - call.Now),
            MonthlyCost => (AdmissionVerdict.BudgetExceeded, "monthly_cost", monthEnd - call.Now),
            _ => throw new InvalidOperationException($"The admit script answered {code}."),
        };
        GatewayTelemetry.TrafficRefusals.Add(1, new KeyValuePair<string, object?>("app.traffic.limit", limit));
        return new Admission { Verdict = verdict, Limit = limit, RetryAfter = retryAfter, Requests = requests, Tokens = tokens };
    }

    /// <summary>
    /// Runs the admit script for <paramref name="own"/> calls (1: the call asking; 0: a lease alone) plus a lease of
    /// <paramref name="lease"/> more, which Redis may refuse (then the answer's last element is 0).
    /// </summary>
    private async Task<(RedisResult[] Result, RedisKey[] Keys)> SendAdmitAsync(Call call, int lease, int own)
    {
        var keys = AdmitKeys(call.Caller, call.Alias, call.Window, call.Now);
        var (dayEnd, monthEnd) = PeriodEnds(call.Now);
        var (limits, budgets) = (call.Limits, call.Budgets);
        RedisValue[] args =
        [
            call.Elapsed, WindowMs,
            limits.RequestsPerMinute ?? -1, limits.TokensPerMinute ?? -1,
            call.Tokens, call.Cost,
            budgets.DailyTokens ?? -1, ToNano(budgets.DailyCost), budgets.MonthlyTokens ?? -1, ToNano(budgets.MonthlyCost),
            (long)(dayEnd - call.Now).TotalSeconds + (2 * 86_400), (long)(monthEnd - call.Now).TotalSeconds + (35 * 86_400),
            call.Options.OverlapHeadroom,
            budgets.Any ? 1 : 0,
            lease, own + lease, call.Tokens * (own + lease),
            own,
        ];
        var result = (RedisResult[])(await Admit.EvaluateAsync(_redis.GetDatabase(), keys, args).ConfigureAwait(false))!;
        return (result, keys);
    }

    /// <summary>Asks for the caller's next lease while the current one still serves; a refusal only means no lease.</summary>
    private async Task PrefetchAsync(CallerState state, Call call, int ask)
    {
        try
        {
            var (result, keys) = await SendAdmitAsync(call, ask, own: 0).ConfigureAwait(false);
            Receive(state, call, (int)result[0], result, keys);
        }
        catch (Exception ex)
        {
            state.Hold(null);
            if (ex is RedisException or TimeoutException or ObjectDisposedException)
            {
                Failed("lease", ex);
            }
            else
            {
                throw;
            }
        }
    }

    /// <summary>Holds the lease Redis granted (if any), giving back whatever it displaces.</summary>
    private void Receive(CallerState state, Call call, int code, RedisResult[] result, RedisKey[] keys)
    {
        var lease = code == Ok && (long)result[5] is var granted and > 0
            ? new Lease(call.Window, (string)keys[0]!, (string)keys[2]!, granted)
            {
                Until = _time.GetTimestamp() + LeaseTicks(call.Options),
                Tokens = granted * call.Tokens,
                RequestsLeft = (long)result[2],
                TokensLeft = (long)result[3],
            }
            : null;
        if (state.Hold(lease) is { } displaced)
        {
            GiveBack(displaced);
        }

        if (lease is not null && Volatile.Read(ref _stopped) && state.Expire(call.Window, 0, all: true) is { } late)
        {
            GiveBack(late); // granted after the host stopped: not kept
        }
    }

    public bool HasHeadroom(UsageCaller caller, string model)
    {
        var options = _options.CurrentValue;
        if (!options.Enabled || !options.OverlapAdmission)
        {
            return false;
        }

        var state = Volatile.Read(ref _callers[SlotOf(caller, model)]);
        return state is not null && state.Of(caller, model) && state.RoomUntil > _time.GetTimestamp();
    }

    private void Remember(CallerState state, bool roomy, TrafficOptions options)
    {
        if (options.OverlapAdmission)
        {
            state.RoomUntil = roomy ? _time.GetTimestamp() + (long)(options.OverlapWindow.TotalSeconds * _time.TimestampFrequency) : 0;
        }
    }

    /// <summary>This caller's entry in the table; one that held the slot for another caller gives its lease back.</summary>
    private CallerState StateOf(UsageCaller caller, string alias)
    {
        ref var slot = ref _callers[SlotOf(caller, alias)];
        var state = Volatile.Read(ref slot);
        if (state is not null && state.Of(caller, alias))
        {
            return state;
        }

        var mine = new CallerState(caller.Tenant, caller.User, alias);
        var before = Interlocked.CompareExchange(ref slot, mine, state);
        if (before != state)
        {
            // Another call took the slot meanwhile: use its entry if it is this caller's, else go without one.
            return before is not null && before.Of(caller, alias) ? before : mine;
        }

        if (state?.Evict() is { } orphan)
        {
            GiveBack(orphan);
        }

        return mine;
    }

    private int SlotOf(UsageCaller caller, string alias) => HashCode.Combine(caller.Tenant, caller.User, alias) & (_callers.Length - 1);

    private long LeaseTicks(TrafficOptions options) => (long)(options.LeaseTime.TotalSeconds * _time.TimestampFrequency);

    /// <summary>Gives back the leases that have run out of time or minute (all of them when the process stops).</summary>
    private void Sweep(bool all)
    {
        var window = _time.GetUtcNow().ToUnixTimeMilliseconds() / WindowMs;
        var now = _time.GetTimestamp();
        foreach (var state in _callers)
        {
            if (state?.Expire(window, now, all) is { } lease)
            {
                GiveBack(lease);
            }
        }
    }

    /// <summary>Sends what a lease did not use back to Redis; kept track of until answered, so that disposing waits for it.</summary>
    private void GiveBack(Lease lease)
    {
        var sending = GiveBackAsync(lease);
        if (!sending.IsCompleted)
        {
            _givingBack.TryAdd(sending, 0);
            _ = sending.ContinueWith((done, self) => ((RedisUsageLimiter)self!)._givingBack.TryRemove(done, out _), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task GiveBackAsync(Lease lease)
    {
        if (lease.Requests == 0 && lease.Tokens == 0)
        {
            return;
        }

        try
        {
            await GiveBackLease.EvaluateAsync(_redis.GetDatabase(), [lease.RequestKey, lease.TokenKey], [-lease.Requests, -lease.Tokens]).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            // Stays counted until the minute's keys expire: the limit errs on the safe side.
            Failed("give back", ex);
        }
    }

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
            reserved.Leased ? 1 : 0,
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

    // A tenant's budget keys change once a day: made once per tenant and day, not on every settlement.
    private static readonly ConcurrentDictionary<string, (long Day, RedisKey DayKey, RedisKey MonthKey)> BudgetKeyMemo = new(StringComparer.Ordinal);

    private static (RedisKey Day, RedisKey Month) BudgetKeys(string tenant, DateTimeOffset at)
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
        if (_logging.TryPass())
        {
            LogUnavailable(operation, ex.GetType().Name, ex.Message, _options.CurrentValue.FailOpen);
        }
    }

    /// <summary>One admission as asked: who, for what, when, and the limits and budgets that apply to it.</summary>
    private sealed class Call
    {
        public Call(UsageCaller caller, string alias, long tokens, DateTimeOffset now, TrafficOptions options)
        {
            (Caller, Alias, Tokens, Now, Options) = (caller, alias, tokens, now, options);
            Limits = options.RateLimitsFor(caller.Tenant, alias);
            Budgets = options.BudgetsFor(caller.Tenant);
            var price = options.PriceOf(alias);
            // Priced as if every reserved token were of the dearer kind: the reservation may only err high.
            Cost = price.InputPerMillion > price.OutputPerMillion ? price.NanoDollars(tokens, 0) : price.NanoDollars(0, tokens);
            var unixMs = now.ToUnixTimeMilliseconds();
            (Window, Elapsed) = (unixMs / WindowMs, unixMs % WindowMs);
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

        public TimeSpan Reset => TimeSpan.FromMilliseconds(WindowMs - Elapsed);

        /// <summary>The request and token windows as told to the client, with what each has left (null: no such limit).</summary>
        public (RateWindow? Requests, RateWindow? Tokens) Windows(long requestsLeft, long tokensLeft) =>
            (Limits.RequestsPerMinute is { } rpm ? new RateWindow(rpm, Math.Max(0, requestsLeft), Reset) : null,
             Limits.TokensPerMinute is { } tpm ? new RateWindow(tpm, Math.Max(0, tokensLeft), Reset) : null);
    }

    /// <summary>What <see cref="CallerState.TryTake"/> found: the lease the call was taken from (and what the limits have left), calls to ask Redis for, a lease to give back.</summary>
    private readonly record struct Take(Lease? Lease, long RequestsLeft, long TokensLeft, int Ask, Lease? Expired, Task? Arriving = null);

    /// <summary>
    /// One caller and model on this instance: the overlap hint, how many calls it made lately (which sizes its
    /// leases) and the lease it holds. Everything but the hint is read and written under the entry's lock.
    /// </summary>
    private sealed class CallerState(string tenant, string user, string alias)
    {
        private long _roomUntil;
        private long _periodStart;
        private int _current, _previous;
        private Lease? _lease;
        private TaskCompletionSource? _arrival;
        private bool _asking, _evicted;

        public long RoomUntil
        {
            get => Volatile.Read(ref _roomUntil);
            set => Volatile.Write(ref _roomUntil, value);
        }

        public bool Of(UsageCaller caller, string model) =>
            string.Equals(tenant, caller.Tenant, StringComparison.Ordinal)
            && string.Equals(user, caller.User, StringComparison.Ordinal)
            && string.Equals(alias, model, StringComparison.Ordinal);

        /// <summary>
        /// Counts the call and takes it from the lease when the lease is of this minute, in time, and has a call
        /// and the tokens left. Says how many calls to ask Redis for: with the call when it could not be taken, for
        /// the next lease when this one is half used; a quarter of what this caller sent here in the last one to
        /// two lease times, at most <paramref name="most"/> (a lease lasts well under a lease time at a steady
        /// rate, and a caller that sends a call now and then gets none); only one request for a lease at a time.
        /// Hands back a lease that has run out of time or minute, to be given back.
        /// </summary>
        public Take TryTake(long window, long tokens, long now, long leaseTicks, int most, bool counted)
        {
            lock (this)
            {
                if (now - _periodStart >= leaseTicks)
                {
                    _previous = now - _periodStart < 2 * leaseTicks ? _current : 0;
                    _current = 0;
                    _periodStart = now;
                }

                if (!counted)
                {
                    _current++;
                }

                Lease? expired = null;
                if (_lease is { } lease)
                {
                    if (lease.Window != window || lease.Until <= now)
                    {
                        (expired, _lease) = (lease, null);
                    }
                    else if (lease.Requests >= 1 && lease.Tokens >= tokens)
                    {
                        lease.Requests--;
                        lease.Tokens -= tokens;
                        lease.RequestsLeft--;
                        lease.TokensLeft -= tokens;
                        var refill = lease.Requests * 2 <= lease.Size ? Ask(most) : 0;
                        return new Take(lease, lease.RequestsLeft, lease.TokensLeft, refill, null);
                    }
                }

                if (_asking && !counted && expired is null)
                {
                    _arrival ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    return new Take(null, 0, 0, 0, null, _arrival.Task);
                }

                return new Take(null, 0, 0, Ask(most), expired);
            }
        }

        private int Ask(int most)
        {
            if (_asking)
            {
                return 0;
            }

            var ask = Math.Min(most, (_current + _previous) / 4);
            _asking = ask > 0;
            return ask;
        }

        /// <summary>
        /// The answer to this entry's request for a lease: holds the lease Redis granted, if it granted one, and
        /// answers one to give back (the one it replaces, or the new one if this entry has left the table).
        /// </summary>
        public Lease? Hold(Lease? lease)
        {
            TaskCompletionSource? arrival;
            lock (this)
            {
                _asking = false;
                (arrival, _arrival) = (_arrival, null);
                var displaced = Keep(lease);
                arrival?.SetResult(); // the calls waiting for this answer try the lease again (continuations run elsewhere)
                return displaced;
            }
        }

        private Lease? Keep(Lease? lease)
        {
            if (lease is null)
            {
                return null;
            }

            if (_evicted)
            {
                return lease;
            }

            if (_lease is { } held && held.Window == lease.Window)
            {
                // The next lease, asked for while this one still served: one lease with both.
                held.Requests += lease.Requests;
                held.Size = held.Requests;
                held.Tokens += lease.Tokens;
                held.Until = Math.Max(held.Until, lease.Until);
                (held.RequestsLeft, held.TokensLeft) = (lease.RequestsLeft, lease.TokensLeft);
                return null;
            }

            var displaced = _lease;
            _lease = lease;
            return displaced;
        }

        public Lease? Expire(long window, long now, bool all)
        {
            lock (this)
            {
                if (_lease is { } lease && (all || lease.Window != window || lease.Until <= now))
                {
                    _lease = null;
                    return lease;
                }

                return null;
            }
        }

        public Lease? Evict()
        {
            lock (this)
            {
                _evicted = true;
                var lease = _lease;
                _lease = null;
                return lease;
            }
        }
    }

    /// <summary>
    /// Calls of one caller, model and minute counted in Redis ahead of time, for this instance to admit without a
    /// round trip: what is left of them, and what the limits had left when Redis granted them (for the headers).
    /// </summary>
    private sealed class Lease(long window, string requestKey, string tokenKey, long requests)
    {
        public long Window { get; } = window;

        /// <summary>Calls granted (merged leases: the calls held when they merged); half used, the next is asked for.</summary>
        public long Size { get; set; } = requests;

        public long Requests { get; set; } = requests;

        public string RequestKey { get; } = requestKey;

        public string TokenKey { get; } = tokenKey;

        public long Until { get; set; }

        public long Tokens { get; set; }

        public long RequestsLeft { get; set; }

        public long TokensLeft { get; set; }
    }

    internal sealed record Settlement(Reservation Reserved, CallUsage Usage, long Billed, long Cost, RedisKey[] Keys, long[] Args)
    {
        // Continuations run elsewhere: a caller awaiting its settlement must not run inside the sending loop.
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rate limit {Operation} failed ({ErrorType}: {Error}); fail open: {FailOpen}")]
    private partial void LogUnavailable(string operation, string errorType, string error, bool failOpen);
}
