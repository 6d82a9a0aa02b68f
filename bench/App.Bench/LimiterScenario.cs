using System.Diagnostics;
using System.Globalization;
using App.Application.Traffic;
using App.Testing;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace App.Bench;

/// <summary>
/// What rate limits and budgets cost per call, in Redis and in the calling process: admissions and settlements
/// through the service's own limiter against a fresh Redis, <c>--concurrency</c> callers at a time. Redis's CPU is
/// read from <c>INFO cpu</c> before and after:
/// <c>dotnet run -c Release --project bench/App.Bench -- limiter [--count 50000] [--concurrency 64] [--users 64] [--cached] [--budgets]</c>
/// (<c>--users</c>: how many distinct users the callers are; 1 is one service account, as bench/run.sh sends).
/// </summary>
internal static class LimiterScenario
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = Args.Int(args, "--count", 50_000);
        var concurrency = Args.Int(args, "--concurrency", 64);
        var users = Math.Max(1, Args.Int(args, "--users", concurrency));
        var cached = Args.Flag(args, "--cached");
        var budgets = Args.Flag(args, "--budgets");

        Console.Error.WriteLine("Starting Redis and PostgreSQL (local binaries or Testcontainers)...");
        await using var redis = await TestServers.StartRedisAsync();
        var settings = new Dictionary<string, string?>
        {
            // Quotas the run cannot reach, as in bench/run.sh: every call is admitted and settled.
            ["Traffic:RateLimits:RequestsPerMinute"] = "1000000000",
            ["Traffic:RateLimits:TokensPerMinute"] = "1000000000000",
            ["Traffic:Prices:bench:InputPerMillion"] = "1",
            ["Traffic:Prices:bench:OutputPerMillion"] = "2",
        };
        if (budgets)
        {
            settings["Traffic:Budgets:DailyTokens"] = "1000000000000";
            settings["Traffic:Budgets:MonthlyCost"] = "1000000";
        }

        // The service in-process, as the tests run it; outside a test project it is told where its content root is.
        Environment.SetEnvironmentVariable("ASPNETCORE_TEST_CONTENTROOT_APP_API", Path.Combine(Databases.RepositoryRoot(), "src", "App.Api"));
        await using var factory = new GatewayFactory(redis.ConnectionString, await Databases.SharedAsync(), settings);
        var limiter = factory.Services.GetRequiredService<IUsageLimiter>();
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        var server = admin.GetServers()[0];

        var warmUp = Math.Min(count, 5_000);
        var refused = await CallAsync(limiter, warmUp, concurrency, users, cached);
        await server.ConfigResetStatisticsAsync();
        var redisBefore = await RedisCpuAsync(server);
        var processBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        refused += await CallAsync(limiter, count, concurrency, users, cached);
        var elapsed = clock.Elapsed;
        var processCpu = Process.GetCurrentProcess().TotalProcessorTime - processBefore;
        var redisCpu = await RedisCpuAsync(server) - redisBefore;
        var scripts = await ScriptsAsync(server);

        Console.WriteLine("| calls | concurrency | users | settled as | budgets | calls/s | Redis CPU µs per call | of which running the scripts | scripts per call | this process CPU µs per call |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"| {count} | {concurrency} | {users} | {(cached ? "cache hits" : "upstream calls")} | {(budgets ? "yes" : "no")} | {count / elapsed.TotalSeconds:0} | {redisCpu * 1e6 / count:0.0} | {scripts.Microseconds / count:0.0} | {scripts.Calls / count:0.00} | {processCpu.TotalMicroseconds / count:0.0} |"));

        // Every call must have been admitted and counted once, or the figures are not of the path they claim.
        var day = (await limiter.ReportAsync("bench", default)).Day;
        var expected = (long)(warmUp + count);
        var counted = cached ? day.CachedTokens / 42 : day.InputTokens / 12;
        if (refused > 0 || day.Requests != expected || counted != expected)
        {
            Console.Error.WriteLine($"expected {expected} calls admitted and settled: {refused} refused, {day.Requests} counted, {counted} settled");
            return 1;
        }

        return 0;
    }

    private static async Task<int> CallAsync(IUsageLimiter limiter, int count, int concurrency, int users, bool cached)
    {
        var next = -1;
        var refused = 0;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var caller = new UsageCaller("bench", "user-" + (worker % users).ToString(CultureInfo.InvariantCulture));
            while (Interlocked.Increment(ref next) < count)
            {
                var admission = await limiter.AdmitAsync(caller, "bench", 60, default);
                if (!admission.IsAdmitted || admission.Reserved is null)
                {
                    Interlocked.Increment(ref refused);
                }

                await limiter.SettleAsync(admission, new CallUsage(12, 30, cached));
            }
        })));
        return refused;
    }

    // Time Redis spent executing the scripts (commandstats: EVALSHA and EVAL), without reading and writing sockets.
    private static async Task<(double Microseconds, double Calls)> ScriptsAsync(IServer server)
    {
        var stats = await InfoAsync(server, "commandstats");
        double Field(string command, string name) => stats.TryGetValue("cmdstat_" + command, out var line)
            ? double.Parse(line.Split(',').First(p => p.StartsWith(name + "=", StringComparison.Ordinal))[(name.Length + 1)..], CultureInfo.InvariantCulture)
            : 0;
        return (Field("evalsha", "usec") + Field("eval", "usec"), Field("evalsha", "calls") + Field("eval", "calls"));
    }

    private static async Task<double> RedisCpuAsync(IServer server)
    {
        var cpu = await InfoAsync(server, "cpu");
        return double.Parse(cpu["used_cpu_user"], CultureInfo.InvariantCulture) + double.Parse(cpu["used_cpu_sys"], CultureInfo.InvariantCulture);
    }

    private static async Task<Dictionary<string, string>> InfoAsync(IServer server, string section) =>
        (await server.InfoAsync(section)).SelectMany(g => g).ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
}
