using System.Globalization;
using App.Application.Traffic;
using App.Infrastructure.Traffic;
using App.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace App.IntegrationTests.Traffic;

/// <summary>
/// Leases (<see cref="TrafficOptions.LeaseCalls"/>): an instance admits a busy caller's calls from calls counted in
/// Redis ahead of time. Against a real Redis: the limit still holds across instances, every call is counted once,
/// and what a lease did not use is given back.
/// </summary>
public sealed class LeaseTests : IAsyncLifetime
{
    private readonly string _tenant = "lease-" + Guid.NewGuid().ToString("N")[..10];
    private readonly List<RedisUsageLimiter> _limiters = [];
    private ConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync()
    {
        var server = await SharedServers.RedisAsync();
        _redis = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        foreach (var limiter in _limiters)
        {
            limiter.Dispose();
        }

        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task ABusyCallerIsAdmittedFromLeasesAndEveryCallIsCountedOnce()
    {
        var limiter = Limiter(new TrafficOptions { RateLimits = new() { RequestsPerMinute = 1_000_000, TokensPerMinute = 1_000_000_000 } });
        await WithinOneMinuteAsync();
        var caller = new UsageCaller(_tenant, "busy");
        const int Calls = 2_000;
        var admissions = await CallAsync(limiter, caller, Calls, workers: 32, settle: new CallUsage(3, 4, Cached: false));

        Assert.All(admissions, a => Assert.True(a.IsAdmitted));
        var leased = admissions.Count(a => a.Reserved!.Leased);
        Assert.True(leased > Calls * 3 / 4, $"{leased} of {Calls} calls admitted from a lease");
        // A leased call still tells the client what its limits have left.
        Assert.All(admissions, a => Assert.InRange(a.Requests!.Value.Remaining, 1, 1_000_000 - 1));

        await limiter.StopAsync(default); // gives back what the leases did not use
        Assert.Equal(Calls, await CountedAsync("r"));
        Assert.Equal(Calls * 7, await CountedAsync("t")); // each call's reservation replaced by what it used
        var day = (await limiter.ReportAsync(_tenant, default)).Day;
        Assert.Equal(Calls, day.Requests);
        Assert.Equal(Calls * 3, day.InputTokens);
        Assert.Equal(Calls * 4, day.OutputTokens);
    }

    [Fact]
    public async Task TwoInstancesWithLeasesNeverAdmitMoreThanTheLimit()
    {
        const int Limit = 300;
        var options = new TrafficOptions { LeaseCalls = 16, RateLimits = new() { RequestsPerMinute = Limit } };
        var (first, second) = (Limiter(options), Limiter(options));
        await WithinOneMinuteAsync();
        var caller = new UsageCaller(_tenant, "shared");
        var runs = await Task.WhenAll(
            CallAsync(first, caller, 500, workers: 16, settle: null),
            CallAsync(second, caller, 500, workers: 16, settle: null));
        var admitted = runs.SelectMany(r => r).Where(a => a.IsAdmitted).ToArray();

        Assert.Contains(admitted, a => a.Reserved!.Leased);
        // Never more than the limit. Fewer by at most what the two may have held unused when the limit was reached.
        Assert.InRange(admitted.Length, Limit - (2 * 2 * 16), Limit);
        await first.StopAsync(default);
        await second.StopAsync(default);
        Assert.Equal(admitted.Length, await CountedAsync("r"));
    }

    [Fact]
    public async Task WhatALeaseDidNotUseIsGivenBackWhenItsTimeRunsOut()
    {
        var limiter = Limiter(new TrafficOptions { LeaseTime = TimeSpan.FromMilliseconds(200) });
        await WithinOneMinuteAsync();
        var caller = new UsageCaller(_tenant, "bursty");
        const int Calls = 60;
        var admissions = await CallAsync(limiter, caller, Calls, workers: 1, settle: null);
        Assert.Contains(admissions, a => a.Reserved!.Leased);
        Assert.True(await CountedAsync("r") > Calls, "no lease was held");

        // The sweep runs every lease time; no call of the process is needed for it.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (await CountedAsync("r") != Calls && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal(Calls, await CountedAsync("r"));
        Assert.Equal(Calls * 100, await CountedAsync("t")); // the calls' own reservations, not settled here
    }

    [Fact]
    public async Task ATenantWithABudgetOrLeasesOffIsAdmittedCallByCall()
    {
        var budgeted = Limiter(new TrafficOptions { Tenants = { [_tenant] = new TenantTraffic { Budgets = new BudgetSettings { DailyTokens = 100_000_000 } } } });
        var off = Limiter(new TrafficOptions { LeaseCalls = 0 });
        await WithinOneMinuteAsync();
        var withBudget = await CallAsync(budgeted, new UsageCaller(_tenant, "budgeted"), 300, workers: 16, settle: null);
        var leasesOff = await CallAsync(off, new UsageCaller(_tenant, "off"), 300, workers: 16, settle: null);

        Assert.All(withBudget.Concat(leasesOff), a => Assert.False(a.Reserved!.Leased));
        Assert.Equal(600, await CountedAsync("r")); // nothing counted ahead of time
    }

    private RedisUsageLimiter Limiter(TrafficOptions options)
    {
        var limiter = new RedisUsageLimiter(_redis, new Fixed(options), TimeProvider.System, NullLogger<RedisUsageLimiter>.Instance);
        _limiters.Add(limiter);
        return limiter;
    }

    private static async Task<List<Admission>> CallAsync(RedisUsageLimiter limiter, UsageCaller caller, int calls, int workers, CallUsage? settle)
    {
        var admissions = new List<Admission>();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) < calls)
            {
                var admission = await limiter.AdmitAsync(caller, "gpt", 100, default);
                lock (admissions)
                {
                    admissions.Add(admission);
                }

                if (settle is { } usage && admission.IsAdmitted)
                {
                    await limiter.SettleAsync(admission, usage);
                }
            }
        })));
        return admissions;
    }

    /// <summary>The sum of this tenant's request ("r") or token ("t") window counters, every user and minute.</summary>
    private async Task<long> CountedAsync(string kind)
    {
        var server = _redis.GetServers()[0];
        var db = _redis.GetDatabase();
        long sum = 0;
        await foreach (var key in server.KeysAsync(pattern: $"app:{{t:{_tenant}}}:rl:*:{kind}:*"))
        {
            sum += long.Parse((string)(await db.StringGetAsync(key))!, CultureInfo.InvariantCulture);
        }

        return sum;
    }

    /// <summary>Starts the calls with at least 10 s of the minute left, so the sliding window does not turn mid-test.</summary>
    private static async Task WithinOneMinuteAsync()
    {
        var left = 60_000 - (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() % 60_000);
        if (left < 10_000)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(left + 50));
        }
    }

    private sealed class Fixed(TrafficOptions value) : IOptionsMonitor<TrafficOptions>
    {
        public TrafficOptions CurrentValue => value;

        public TrafficOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<TrafficOptions, string?> listener) => null;
    }
}
