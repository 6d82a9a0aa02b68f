using App.Application.Telemetry;
using App.Application.Traffic;
using App.Infrastructure.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace App.Infrastructure.Traffic;

/// <summary>
/// Decides admissions: from the caller's lease on this instance while it has calls left, otherwise by the admit
/// script in Redis, which may grant the caller's next lease with its answer; and turns the answer into a verdict.
/// </summary>
internal sealed class Admitter
{
    // Reason codes returned by the admit script.
    private const int Ok = 0, Requests = 1, TooLarge = 2, Tokens = 3, DailyTokens = 4, DailyCost = 5, MonthlyTokens = 6, MonthlyCost = 7;

    private static readonly RedisScript AdmitScript = RedisScript.Load("Traffic/Admit.lua");

    private readonly IConnectionMultiplexer _redis;
    private readonly IOptionsMonitor<TrafficOptions> _options;
    private readonly TimeProvider _time;
    private readonly LeaseTable _leases;
    private readonly LimiterFailures _failures;

    public Admitter(IConnectionMultiplexer redis, IOptionsMonitor<TrafficOptions> options, TimeProvider time, LeaseTable leases, LimiterFailures failures)
    {
        _redis = redis;
        _options = options;
        _time = time;
        _leases = leases;
        _failures = failures;
    }

    /// <summary>
    /// Nothing awaits before the admit script is sent (but a lease already on its way), so the cache look-up the
    /// gateway sends next shares the script's round trip.
    /// </summary>
    public async ValueTask<Admission> AdmitAsync(UsageCaller caller, string model, long estimatedTokens, CancellationToken cancellationToken)
    {
        var options = _options.CurrentValue;
        if (!options.Enabled)
        {
            return Admission.Unlimited;
        }

        var call = new AdmissionCall(caller, model, estimatedTokens, _time.GetUtcNow(), options);
        var state = _leases.StateOf(caller, model);
        var ask = 0;
        if (options.LeaseCalls > 0 && !call.Budgets.Any && !_leases.Stopped)
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
                _leases.GiveBack(expired);
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
            (result, keys) = await SendAsync(call, ask, own: 1).ConfigureAwait(false);
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

        return Refused(call, code, (long)result[1], requests, tokens);
    }

    public bool HasHeadroom(UsageCaller caller, string model)
    {
        var options = _options.CurrentValue;
        if (!options.Enabled || !options.OverlapAdmission)
        {
            return false;
        }

        return _leases.Find(caller, model) is { } state && state.RoomUntil > _time.GetTimestamp();
    }

    private static Admission Refused(AdmissionCall call, int code, long retryMs, RateWindow? requests, RateWindow? tokens)
    {
        var (dayEnd, monthEnd) = UsageKeys.PeriodEnds(call.Now);
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
    private async Task<(RedisResult[] Result, RedisKey[] Keys)> SendAsync(AdmissionCall call, int lease, int own)
    {
        var keys = UsageKeys.Admit(call.Caller, call.Alias, call.Window, call.Now);
        var (dayEnd, monthEnd) = UsageKeys.PeriodEnds(call.Now);
        var (limits, budgets) = (call.Limits, call.Budgets);
        RedisValue[] args =
        [
            call.Elapsed, UsageKeys.WindowMs,
            limits.RequestsPerMinute ?? -1, limits.TokensPerMinute ?? -1,
            call.Tokens, call.Cost,
            budgets.DailyTokens ?? -1, ToNano(budgets.DailyCost), budgets.MonthlyTokens ?? -1, ToNano(budgets.MonthlyCost),
            (long)(dayEnd - call.Now).TotalSeconds + (2 * 86_400), (long)(monthEnd - call.Now).TotalSeconds + (35 * 86_400),
            call.Options.OverlapHeadroom,
            budgets.Any ? 1 : 0,
            lease, own + lease, call.Tokens * (own + lease),
            own,
        ];
        var result = (RedisResult[])(await AdmitScript.EvaluateAsync(_redis.GetDatabase(), keys, args).ConfigureAwait(false))!;
        return (result, keys);
    }

    /// <summary>Asks for the caller's next lease while the current one still serves; a refusal only means no lease.</summary>
    private async Task PrefetchAsync(CallerState state, AdmissionCall call, int ask)
    {
        try
        {
            var (result, keys) = await SendAsync(call, ask, own: 0).ConfigureAwait(false);
            Receive(state, call, (int)result[0], result, keys);
        }
        catch (Exception ex)
        {
            state.Hold(null);
            if (ex is RedisException or TimeoutException or ObjectDisposedException)
            {
                _failures.Failed("lease", ex);
            }
            else
            {
                throw;
            }
        }
    }

    /// <summary>Holds the lease Redis granted (if any), giving back whatever it displaces.</summary>
    private void Receive(CallerState state, AdmissionCall call, int code, RedisResult[] result, RedisKey[] keys)
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
            _leases.GiveBack(displaced);
        }

        if (lease is not null && _leases.Stopped && state.Expire(call.Window, 0, all: true) is { } late)
        {
            _leases.GiveBack(late); // granted after the host stopped: not kept
        }
    }

    private void Remember(CallerState state, bool roomy, TrafficOptions options)
    {
        if (options.OverlapAdmission)
        {
            state.RoomUntil = roomy ? _time.GetTimestamp() + (long)(options.OverlapWindow.TotalSeconds * _time.TimestampFrequency) : 0;
        }
    }

    private long LeaseTicks(TrafficOptions options) => (long)(options.LeaseTime.TotalSeconds * _time.TimestampFrequency);

    private static long ToNano(decimal? dollars) => dollars is { } d ? (long)(d * 1_000_000_000m) : -1;

    private Admission Unavailable(TrafficOptions options, Exception ex)
    {
        _failures.Failed("admit", ex);
        if (options.FailOpen)
        {
            GatewayTelemetry.TrafficUnenforced.Add(1);
            return Admission.Unlimited;
        }

        GatewayTelemetry.TrafficRefusals.Add(1, new KeyValuePair<string, object?>("app.traffic.limit", "unavailable"));
        return new Admission { Verdict = AdmissionVerdict.RateLimited, Limit = "unavailable", RetryAfter = TimeSpan.FromSeconds(1) };
    }
}
