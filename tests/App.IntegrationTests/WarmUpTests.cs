using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using App.Application.Identity;
using App.Bench;
using App.Infrastructure.Persistence;
using App.Testing;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace App.IntegrationTests;

/// <summary>
/// The API warms itself up before it reports ready (WarmUp): readiness is 503 while it sends requests to itself, then
/// 200; the warm-up's calls leave no trace and no HTTP metric, while a real call right after does. Their traces went
/// through the writer's insert all the same (rolled back), and the upstream client was rehearsed in memory.
/// </summary>
public sealed partial class WarmUpTests : GatewayTest
{
    // A database of its own: the test counts every insert into its trace table, kept or rolled back.
    protected override Task<TestDatabase> DatabaseAsync() => Databases.FreshAsync();

    [Fact]
    public async Task ReadinessWaitsForTheWarmUpWhoseCallsLeaveNoTraceAndNoMetric()
    {
        var management = TestServers.FreePort();
        var url = $"http://127.0.0.1:{TestServers.FreePort().ToString(CultureInfo.InvariantCulture)}";
        var settings = Factory.Configuration();
        settings["WarmUp:Enabled"] = "true";
        settings["WarmUp:MaxDuration"] = "00:00:03";
        settings["Management:Urls"] = $"http://127.0.0.1:{management.ToString(CultureInfo.InvariantCulture)}";
        settings["Serilog:MinimumLevel:Override:App.Api.Hosting.WarmUp"] = "Information";
        await using var service = WorkerProcess.StartService(settings, url);
        using var client = new HttpClient { BaseAddress = new Uri(url) };

        // Not ready while warming up, then ready.
        var warmingSeen = false;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            Assert.True(DateTime.UtcNow < deadline && !service.HasExited, "never ready:\n" + service.Output);
            try
            {
                using var ready = await client.GetAsync("/health/ready");
                if (ready.IsSuccessStatusCode)
                {
                    break;
                }

                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                warmingSeen |= (await ready.Content.ReadAsStringAsync()).Contains("warming up", StringComparison.Ordinal);
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(20);
        }

        Assert.True(warmingSeen, "readiness never said it was warming up:\n" + service.Output);
        var done = WarmedUp().Match(service.Output);
        Assert.True(done.Success, "no warm-up summary in the log:\n" + service.Output);
        Assert.True(long.Parse(done.Groups["requests"].Value, CultureInfo.InvariantCulture) > 50, done.Value);
        Assert.Equal("0", done.Groups["failures"].Value);
        Assert.True(long.Parse(done.Groups["rehearsed"].Value, CultureInfo.InvariantCulture) > 10, "the OpenAI-compatible client was not rehearsed: " + done.Value);

        // A real call after it: traced and counted, unlike the warm-up's.
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Factory.MintToken(Tenant, "user-1", [Scopes.ChatInvoke]));
        using (var real = await client.PostAsJsonAsync("/v1/chat/completions", Chat("after the warm-up", temperature: 0.7)))
        {
            Assert.Equal(HttpStatusCode.OK, real.StatusCode);
        }

        await using var dataSource = NpgsqlDataSource.Create(settings["ConnectionStrings:Postgres"]!);
        var data = new TenantData(new ContextFactory(dataSource), dataSource);
        var stored = 0;
        for (var i = 0; i < 100 && stored == 0; i++)
        {
            await Task.Delay(100);
            stored = await data.ReadAsync(Tenant, db => db.Traces.CountAsync(), CancellationToken.None);
        }

        Assert.Equal(1, stored);
        Assert.Equal(0, await data.ReadAsync(ReservedTenants.WarmUp, db => db.Traces.CountAsync(), CancellationToken.None));

        // The rows the warm-up's traces were inserted as, and rolled back: they went through the writer's insert (counted
        // on the partitions, not on the partitioned table). One chat call in four is traced (three requests in four are
        // chat calls). PostgreSQL publishes a session's counts up to 10 s after its transactions, and on a busy machine
        // the writer may still be at it after ready.
        var warmUpTraces = long.Parse(done.Groups["requests"].Value, CultureInfo.InvariantCulture) / 10;
        long inserted = 0;
        for (var i = 0; i < 150 && inserted <= warmUpTraces; i++)
        {
            await using var stats = dataSource.CreateCommand("SELECT coalesce(sum(s.n_tup_ins), 0)::bigint FROM pg_stat_user_tables s JOIN pg_inherits i ON i.inhrelid = s.relid WHERE i.inhparent = 'app.traces'::regclass");
            inserted = (long)(await stats.ExecuteScalarAsync())!;
            await Task.Delay(200);
        }

        Assert.True(inserted > Math.Max(5, warmUpTraces), $"{inserted} rows were ever inserted into the trace table after {done.Value}: the warm-up's traces did not reach the writer's insert");

        using var scraper = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{management.ToString(CultureInfo.InvariantCulture)}") };
        var metrics = await scraper.GetStringAsync("/metrics");
        var chatCounts = metrics.Split('\n').Where(l => l.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal) && l.Contains("/v1/chat/completions", StringComparison.Ordinal)).ToList();
        var count = chatCounts.Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
        Assert.True(count == 1, "the chat route's HTTP metric should count the one real call:\n" + string.Join('\n', chatCounts));
    }

    [GeneratedRegex(@"Warmed up: (?<requests>\d+) requests \((?<failures>\d+) failed\) and (?<rehearsed>\d+) rehearsed upstream calls")]
    private static partial Regex WarmedUp();
}
