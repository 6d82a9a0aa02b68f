using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using App.Application.Identity;
using App.Infrastructure.Persistence;
using App.Infrastructure.Traces;
using App.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace App.IntegrationTests.Traces;

/// <summary>
/// The service as a process of its own, killed with SIGKILL while traces wait to be written: they are lost (a crash
/// loses what sits in memory), and the next start counts them from the ledger (Traces:LedgerPath). A graceful stop
/// writes everything and leaves nothing to count.
/// </summary>
public class TraceCrashTests(ITestOutputHelper output) : GatewayTest
{
    private readonly string _ledger = Path.Combine(Path.GetTempPath(), $"app-traces-{Guid.NewGuid():N}.ledger");

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        File.Delete(_ledger);
    }

    private WorkerProcess StartService(string url, params (string Key, string Value)[] more)
    {
        var settings = Factory.Configuration();
        settings["Traces:LedgerPath"] = _ledger;
        settings["Jobs:RunWorkers"] = "false";
        // No per-minute limits: every call is answered and traced, so what was answered is what was recorded.
        settings["Traffic:Enabled"] = "false";
        settings["Serilog:MinimumLevel:Default"] = "Information";
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return WorkerProcess.StartService(settings, url);
    }


    private static async Task<int> ChatAsync(HttpClient client, int count, string tag)
    {
        var answered = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            using var content = new StringContent(Chat($"{tag} {i}", temperature: 0.7).ToJsonString(), Encoding.UTF8, "application/json");
            try
            {
                using var response = await client.PostAsync("/v1/chat/completions", content, ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref answered);
                }
            }
            catch (HttpRequestException)
            {
                // the service was killed under it
            }
        });
        return answered;
    }

    private Task<int> StoredAsync() =>
        Factory.Services.GetRequiredService<TenantData>().ReadAsync(Tenant, db => db.Traces.CountAsync(), default);

    private HttpClient ClientFor(string url)
    {
        var client = new HttpClient { BaseAddress = new Uri(url) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Factory.MintToken(Tenant, "user-1", [Scopes.ChatInvoke]));
        return client;
    }

    [Fact]
    public async Task TracesASigkillLosesAreCountedAtTheNextStartAndAGracefulStopLosesNone()
    {
        var url = $"http://127.0.0.1:{TestServers.FreePort()}";
        using var client = ClientFor(url);

        // Traces wait for a flush interval longer than the test: every one accepted is still in memory at the kill.
        await using (var first = StartService(url, ("Traces:FlushInterval", "00:10:00"), ("Traces:BatchSize", "100000")))
        {
            await first.WaitUntilServingAsync(client, "/health/live");
            Assert.Equal(40, await ChatAsync(client, 40, "lost"));
            await Task.Delay(TraceLedger.Interval * 4);
            await first.KillAsync();
        }

        Assert.Equal(0, await StoredAsync());

        await using (var second = StartService(url))
        {
            await second.WaitUntilServingAsync(client, "/health/live");
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!second.Output.Contains("40 accepted trace(s) were waiting to be written and are lost; 0 were being written", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            Assert.Contains("40 accepted trace(s) were waiting to be written and are lost; 0 were being written", second.Output, StringComparison.Ordinal);
            Assert.Equal(10, await ChatAsync(client, 10, "kept"));
            await second.StopAsync();
        }

        Assert.Equal(10, await StoredAsync());

        await using (var third = StartService(url))
        {
            await third.WaitUntilServingAsync(client, "/health/live");
            Assert.DoesNotContain("ended without a graceful stop", third.Output, StringComparison.Ordinal);

            // Under load, with the defaults: what a SIGKILL loses against what the next start counts, for the record.
            var load = ChatAsync(client, 4000, "under load");
            var clock = Stopwatch.StartNew();
            while (await StoredAsync() < 300 && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(20);
            }

            await third.KillAsync();
            var answered = await load;
            await using var fourth = StartService(url);
            await fourth.WaitUntilServingAsync(client, "/health/live");
            await Task.Delay(TimeSpan.FromSeconds(1));
            var lost = 10 + answered - await StoredAsync();
            var counted = System.Text.RegularExpressions.Regex.Match(fourth.Output, "(\\d+) accepted trace\\(s\\) were waiting to be written and are lost; (\\d+) were being written");
            output.WriteLine($"SIGKILL under load: {answered} answered, {lost} not stored; the next start counted {counted.Groups[1].Value} waiting and {counted.Groups[2].Value} being written");
        }
    }
}
