using App.Application.Traffic;
using App.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace App.IntegrationTests.Traffic;

/// <summary>
/// Settlements are group-committed (those that arrive while one is on its way go together in the next write):
/// under concurrency every one of them must still be applied, once, against a real Redis.
/// </summary>
public class SettlementTests : GatewayTest
{
    protected override Settings Configure(Settings settings) => base.Configure(settings)
        .With("Traffic:Prices:gpt:InputPerMillion", "1")
        .With("Traffic:Prices:gpt:OutputPerMillion", "2");

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
}
