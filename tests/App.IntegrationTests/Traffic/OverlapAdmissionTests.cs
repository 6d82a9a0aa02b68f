using System.Diagnostics.Metrics;
using System.Net;
using App.Application.Traffic;
using App.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace App.IntegrationTests.Traffic;

/// <summary>
/// Admission overlapped with the upstream call: the room a caller has is measured by the admission script in a
/// real Redis, and an instance acting on room another instance has since used up still refuses.
/// </summary>
public class OverlapAdmissionTests : GatewayTest
{
    private string BudgetTenant { get; } = "t-" + Guid.NewGuid().ToString("N")[..10];

    protected override Settings Configure(Settings settings) => base.Configure(settings)
        .With($"Traffic:Tenants:{Tenant}:RateLimits:RequestsPerMinute", "25")
        .With($"Traffic:Tenants:{Tenant}:RateLimits:TokensPerMinute", "10000000")
        .With($"Traffic:Tenants:{BudgetTenant}:RateLimits:RequestsPerMinute", "100000")
        .With($"Traffic:Tenants:{BudgetTenant}:Budgets:DailyTokens", "5000")
        // Long enough that the room an instance saw is still trusted when the other instance has used it up.
        .With("Traffic:OverlapWindow", "00:01:00");

    [Fact]
    public async Task RoomIsMeasuredInEveryLimitAndBudget()
    {
        var limiter = Factory.Services.GetRequiredService<IUsageLimiter>();
        var limited = new UsageCaller(Tenant, "direct-user");
        Assert.False(limiter.HasHeadroom(limited, "gpt"));

        // 25 requests per minute, headroom 20: room after the first call, none once fewer than 20 calls are left.
        Assert.True((await limiter.AdmitAsync(limited, "gpt", 100, default)).IsAdmitted);
        Assert.True(limiter.HasHeadroom(limited, "gpt"));
        Assert.False(limiter.HasHeadroom(limited, "other-model"));
        Assert.False(limiter.HasHeadroom(limited with { User = "someone-else" }, "gpt"));
        for (var i = 0; i < 9; i++)
        {
            Assert.True((await limiter.AdmitAsync(limited, "gpt", 100, default)).IsAdmitted);
        }

        Assert.False(limiter.HasHeadroom(limited, "gpt"));

        // A daily budget of 5,000 tokens, 100 reserved per call: room while 20 more calls fit, then none.
        var budgeted = new UsageCaller(BudgetTenant, "budget-user");
        Assert.True((await limiter.AdmitAsync(budgeted, "gpt", 100, default)).IsAdmitted);
        Assert.True(limiter.HasHeadroom(budgeted, "gpt"));
        for (var i = 0; i < 34; i++)
        {
            Assert.True((await limiter.AdmitAsync(budgeted, "gpt", 100, default)).IsAdmitted);
        }

        Assert.False(limiter.HasHeadroom(budgeted, "gpt"));
    }

    [Fact]
    public async Task AnInstanceActingOnStaleRoomStillRefusesAndCancelsWhatItStarted()
    {
        long cancelled = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "app.traffic.overlap_cancelled")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref cancelled, value));
        listener.Start();

        // This instance admits one call and remembers the room the script reported (24 of 25 left).
        using (var first = await SendAsync(Client, "first"))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        // Another instance, sharing the Redis, uses up the rest of the minute's requests.
        await using var second = new GatewayFactory(Redis.ConnectionString, await Databases.SharedAsync(), Configure(new Settings().With("Cache:KeyPrefix", $"test:{Guid.NewGuid():N}:")));
        using var secondClient = second.CreateClientFor(Tenant);
        for (var i = 0; i < 24; i++)
        {
            using var response = await SendAsync(secondClient, $"other instance {i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // The first instance still believes there is room, starts the upstream call with the admission, and is refused.
        using var refused = await SendAsync(Client, "one too many");
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("0", Header(refused, "x-ratelimit-remaining-requests"));
        Assert.NotNull(Header(refused, "Retry-After"));
        Assert.True(Interlocked.Read(ref cancelled) >= 1, "the refused call was not started alongside its admission");
        // What a wrong guess costs: at most the one call started and cancelled.
        Assert.InRange(Upstream.Requests, 25, 26);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string prompt)
    {
        // Not deterministic (temperature 0.7), so the cache is skipped: the calls that may overlap their admission.
        var body = Chat(prompt, temperature: 0.7);
        return await client.PostAsync("/v1/chat/completions", new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
    }
}

/// <summary>The room an admission measured is trusted for <c>Traffic:OverlapWindow</c>, then no longer.</summary>
public class OverlapWindowTests : GatewayTest
{
    protected override Settings Configure(Settings settings) => base.Configure(settings)
        .With("Traffic:OverlapWindow", "00:00:01");

    [Fact]
    public async Task RoomIsTrustedForTheWindowOnly()
    {
        var limiter = Factory.Services.GetRequiredService<IUsageLimiter>();
        var caller = new UsageCaller(Tenant, "windowed");
        Assert.True((await limiter.AdmitAsync(caller, "gpt", 100, default)).IsAdmitted);
        Assert.True(limiter.HasHeadroom(caller, "gpt"));
        await Task.Delay(TimeSpan.FromMilliseconds(1300));
        Assert.False(limiter.HasHeadroom(caller, "gpt"));
        Assert.True((await limiter.AdmitAsync(caller, "gpt", 100, default)).IsAdmitted);
        Assert.True(limiter.HasHeadroom(caller, "gpt"));
    }
}
