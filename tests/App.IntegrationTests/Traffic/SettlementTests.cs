using System.Diagnostics.Metrics;
using App.Application.Telemetry;
using App.Application.Traffic;
using App.Testing;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace App.IntegrationTests.Traffic;

/// <summary>
/// Settlements are group-committed (those that arrive while one is on its way go together in the next write):
/// under concurrency every one of them must still be applied, once, against a real Redis.
/// </summary>
public class SettlementTests : GatewayTest
{
    protected override Settings Configure(Settings settings) => base.Configure(settings)
        .With("Traffic:Prices:gpt:InputPerMillion", "1")
        .With("Traffic:Prices:gpt:OutputPerMillion", "2")
        .With($"Traffic:Tenants:{Tenant}:Budgets:DailyTokens", "1000000")
        .With($"Traffic:Tenants:{Tenant}:Budgets:MonthlyCost", "10");

    [Fact]
    public async Task ConcurrentSettlementsAreEachAppliedOnce()
    {
        var limiter = Factory.Services.GetRequiredService<IUsageLimiter>();
        var caller = new UsageCaller(Tenant, "settler");
        const int Calls = 300;
        var admissions = await Task.WhenAll(Enumerable.Range(0, Calls).Select(_ => limiter.AdmitAsync(caller, "gpt", 1_000, default).AsTask()));
        Assert.All(admissions, a => Assert.NotNull(a.Reserved));

        var usages = Enumerable.Range(0, Calls).Select(i => new CallUsage(10 + (i % 7), 5 + (i % 3), Cached: i % 10 == 0)).ToArray();
        await Task.WhenAll(admissions.Select((a, i) => Task.Run(() => limiter.SettleAsync(a, usages[i]).AsTask())));

        var day = (await limiter.ReportAsync(Tenant, default)).Day;
        var billed = usages.Where(u => !u.Cached).ToArray();
        Assert.Equal(Calls, day.Requests);
        Assert.Equal(billed.Sum(u => u.InputTokens), day.InputTokens);
        Assert.Equal(billed.Sum(u => u.OutputTokens), day.OutputTokens);
        Assert.Equal(usages.Where(u => u.Cached).Sum(u => u.InputTokens + u.OutputTokens), day.CachedTokens);
        // $1 and $2 per million tokens: 1,000 and 2,000 nano-dollars a token, so the sum is exact.
        Assert.Equal(billed.Sum(u => (u.InputTokens * 1_000) + (u.OutputTokens * 2_000)) / 1_000_000_000m, day.Cost);

        // Every reservation (1,000 tokens each) was released: the minute's token limit is all there again but for
        // what was billed. (At least that: should the minute turn over meanwhile, the sliding window weighs it less.)
        var next = await limiter.AdmitAsync(caller, "gpt", 1, default);
        var expected = new TrafficOptions().RateLimits.TokensPerMinute!.Value - billed.Sum(u => u.InputTokens + u.OutputTokens) - 1;
        Assert.InRange(next.Tokens!.Value.Remaining, expected, expected + billed.Sum(u => u.InputTokens + u.OutputTokens));
    }

    // The scripts set a key's expiry when they create it, not on every call, and write no field a call does not
    // change: every key must still expire when its window or period has passed, and what is counted must not move.
    [Fact]
    public async Task EveryKeyExpiresWithItsPeriodAndAHitWritesNoBilledField()
    {
        var limiter = Factory.Services.GetRequiredService<IUsageLimiter>();
        var tenant = Tenant + "-nobudget";
        var caller = new UsageCaller(tenant, "keys");
        var admissions = new List<Admission>();
        for (var i = 0; i < 3; i++)
        {
            admissions.Add(await limiter.AdmitAsync(caller, "gpt", 500, default));
        }

        await limiter.SettleAsync(admissions[0], new CallUsage(40, 20, Cached: true));
        await limiter.SettleAsync(admissions[1], new CallUsage(40, 20, Cached: true));

        // The app's own connection: these are reads of what its limiter wrote.
        var redis = Factory.Services.GetRequiredService<IConnectionMultiplexer>();
        var server = redis.GetServers()[0];
        var db = redis.GetDatabase();
        var keys = server.Keys(pattern: $"app:{{t:{tenant}}}:*").ToArray();
        var now = DateTimeOffset.UtcNow;
        var dayEnd = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero).AddDays(1);
        var monthEnd = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
        Assert.True(keys.Length is 4 or 6, $"{keys.Length} keys"); // this minute's requests and tokens (and the next minute's, should it turn meanwhile), the day and the month
        foreach (var key in keys)
        {
            var ttl = await db.KeyTimeToLiveAsync(key);
            Assert.True(ttl is not null, $"{key} never expires");
            var (low, high) = key.ToString().Contains(":use:d:", StringComparison.Ordinal) ? (dayEnd - now + TimeSpan.FromDays(2), dayEnd - now + TimeSpan.FromDays(2))
                : key.ToString().Contains(":use:m:", StringComparison.Ordinal) ? (monthEnd - now + TimeSpan.FromDays(35), monthEnd - now + TimeSpan.FromDays(35))
                : (TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(120));
            Assert.InRange(ttl!.Value, low - TimeSpan.FromSeconds(30), high + TimeSpan.FromSeconds(1));
        }

        var day = keys.Single(k => k.ToString().Contains(":use:d:", StringComparison.Ordinal));
        var fields = (await db.HashGetAllAsync(day)).ToDictionary(e => e.Name.ToString(), e => (long)e.Value);
        // Two hits settled (cached tokens, nothing billed), one call still open. Without a budget the ledger
        // holds no reservation (nothing would read it); the minute's token window does.
        Assert.Equal(3, fields["requests"]);
        Assert.Equal(120, fields["cached"]);
        Assert.False(fields.ContainsKey("tokens") || fields.ContainsKey("input") || fields.ContainsKey("output") || fields.ContainsKey("cost"), string.Join(", ", fields.Keys));
        Assert.False(fields.ContainsKey("rtokens") || fields.ContainsKey("rcost"), string.Join(", ", fields.Keys));
        RedisKey window = admissions[2].Reserved!.TokenWindowKey;
        Assert.Equal(500, (long)await db.StringGetAsync(window));

        await limiter.SettleAsync(admissions[2], new CallUsage(40, 20, Cached: false));
        fields = (await db.HashGetAllAsync(day)).ToDictionary(e => e.Name.ToString(), e => (long)e.Value);
        Assert.Equal((60, 40, 20, 120), (fields["tokens"], fields["input"], fields["output"], fields["cached"]));
        Assert.False(fields.ContainsKey("rtokens"));
        Assert.Equal(60, (long)await db.StringGetAsync(window));
    }

    [Fact]
    public async Task TheBudgetGaugeReportsTheSettledShareOfEachBudget()
    {
        var limiter = Factory.Services.GetRequiredService<IUsageLimiter>();
        var caller = new UsageCaller(Tenant, "gauge");
        var hit = await limiter.AdmitAsync(caller, "gpt", 1_000, default);
        await limiter.SettleAsync(hit, new CallUsage(300, 100, Cached: true));
        var call = await limiter.AdmitAsync(caller, "gpt", 1_000, default);
        await limiter.SettleAsync(call, new CallUsage(1_000, 500, Cached: false));

        var seen = new Dictionary<(string, string), double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == GatewayTelemetry.SourceName && instrument.Name == "app.budget.utilization")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            var t = tags.ToArray().ToDictionary(x => x.Key, x => x.Value as string);
            if (t["tenant"] == Tenant)
            {
                seen[(t["app.budget.period"]!, t["app.budget.kind"]!)] = value;
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();

        // With a budget the ledger holds each call's reservation until it settles: none is left.
        var redis = Factory.Services.GetRequiredService<IConnectionMultiplexer>();
        var day = redis.GetServers()[0].Keys(pattern: $"app:{{t:{Tenant}}}:use:d:*").Single();
        var fields = (await redis.GetDatabase().HashGetAllAsync(day)).ToDictionary(e => e.Name.ToString(), e => (long)e.Value);
        Assert.Equal((0, 0, 2), (fields["rtokens"], fields["rcost"], fields["requests"]));

        // 1,500 billed tokens of a 1,000,000-token day; $0.002 ($1 and $2 per million) of a $10 month. The hit
        // bills nothing.
        Assert.Equal(1_500 / 1_000_000.0, seen[("day", "tokens")], 9);
        Assert.Equal(((1_000 * 1_000) + (500 * 2_000)) / 1e9 / 10, seen[("month", "cost")], 9);
        Assert.False(seen.ContainsKey(("day", "cost")) || seen.ContainsKey(("month", "tokens")), "a period without that budget has no gauge");
    }
}
