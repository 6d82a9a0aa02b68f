using App.Application.Telemetry;
using App.Application.Traffic;
using App.Infrastructure.Redis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace App.Infrastructure.Traffic;

/// <summary>
/// Settlements are group-committed: the first one is sent at once, and those that arrive while it is on its way
/// go together in the next write (one <see cref="IBatch"/>), so under load a settlement costs a fraction of a
/// write to Redis instead of one each. Each caller's task still completes when its own script has answered.
/// </summary>
internal sealed class SettlementBatcher(IConnectionMultiplexer redis, IOptionsMonitor<TrafficOptions> options, BudgetGauge gauge, TenantLabels labels, LimiterFailures failures)
{
    private static readonly RedisScript SettleScript = RedisScript.Load("Traffic/Settle.lua");

    // Settlements waiting for the write in flight to answer.
    private readonly Lock _gate = new();
    private List<Settlement> _queue = [];
    private bool _sending;

    /// <summary>Sends <paramref name="settlement"/> now, or with the next write if one is on its way; completes when Redis has answered it.</summary>
    public ValueTask SendAsync(Settlement settlement)
    {
        lock (_gate)
        {
            _queue.Add(settlement);
            if (_sending)
            {
                return new ValueTask(settlement.Done.Task);
            }

            _sending = true;
        }

        _ = SendQueuedAsync();
        return new ValueTask(settlement.Done.Task);
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

    private async Task SendQueuedAsync()
    {
        var sending = new List<Settlement>();
        while (true)
        {
            lock (_gate)
            {
                if (_queue.Count == 0)
                {
                    _sending = false;
                    return;
                }

                (sending, _queue) = (_queue, sending);
            }

            var (groupOf, calls) = Merge(sending);
            var replies = new Task<RedisResult>[calls.Count];
            try
            {
                var db = redis.GetDatabase();
                if (calls.Count == 1)
                {
                    replies[0] = SettleScript.EvaluateAsync(db, calls[0].Keys, Values(calls[0].Args));
                }
                else
                {
                    var batch = db.CreateBatch();
                    for (var i = 0; i < calls.Count; i++)
                    {
                        replies[i] = SettleScript.EvaluateAsync(batch, db, calls[i].Keys, Values(calls[i].Args));
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
                    Account(s, totals);
                }
                catch (Exception ex)
                {
                    // Whatever went wrong, the loop goes on for the others. The reservation stays counted until its
                    // window and period keys expire: the limit errs on the safe side.
                    failures.Failed("settle", ex);
                }

                s.Done.TrySetResult();
            }

            sending.Clear();
        }
    }

    /// <summary>The settled call's spend and tokens in the meters, and its tenant's budgets in the gauge.</summary>
    private void Account(Settlement settled, RedisResult[] totals)
    {
        var (reserved, usage) = (settled.Reserved, settled.Usage);
        var label = labels.For(reserved.Caller.Tenant);
        var tenant = new KeyValuePair<string, object?>("tenant", label);
        var model = new KeyValuePair<string, object?>("gen_ai.request.model", reserved.Alias);
        if (settled.Cost > 0)
        {
            GatewayTelemetry.Spend.Add(settled.Cost / 1e9, tenant, model);
        }

        if (settled.Billed > 0)
        {
            GatewayTelemetry.UsageTokens.Add(usage.InputTokens, tenant, model, new("app.usage.kind", "input"));
            GatewayTelemetry.UsageTokens.Add(usage.OutputTokens, tenant, model, new("app.usage.kind", "output"));
        }
        else if (usage.Cached)
        {
            GatewayTelemetry.UsageTokens.Add(usage.InputTokens + usage.OutputTokens, tenant, model, new("app.usage.kind", "cached"));
        }

        if (label == TenantLabels.Other)
        {
            return;
        }

        var budgets = options.CurrentValue.BudgetsFor(reserved.Caller.Tenant);
        gauge.Track(reserved.Caller.Tenant, budgets, ((long)totals[0], (long)totals[1]), ((long)totals[2], (long)totals[3]));
    }
}
