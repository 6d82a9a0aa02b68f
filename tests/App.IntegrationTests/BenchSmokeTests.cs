using System.Globalization;
using System.Text.Json;
using App.Bench;
using App.FakeUpstream;
using App.Testing;

namespace App.IntegrationTests;

/// <summary>
/// The benchmark harness still runs, in seconds: a load run against a fake upstream and a small trace-writer run.
/// Nothing here is about speed; only that the tools work and count what they did.
/// </summary>
public class BenchSmokeTests
{
    [Theory]
    [InlineData("closed", false)]
    [InlineData("open", false)]
    [InlineData("closed", true)]
    public async Task TheLoadGeneratorRunsAndReports(string mode, bool stream)
    {
        await using var upstream = await FakeUpstreamServer.StartAsync();
        var json = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():N}.jsonl");
        try
        {
            string[] args = ["load", "--url", new Uri(upstream.BaseUrl, "chat/completions").ToString(), "--mode", mode, "--rate", "50",
                "--connections", "2", "--duration", "1", "--warmup", "0", "--json", json, "--pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
                .. stream ? ["--stream"] : Array.Empty<string>()];
            Assert.Equal(0, await LoadScenario.RunAsync(args));
            var row = JsonDocument.Parse((await File.ReadAllLinesAsync(json)).Single()).RootElement;
            Assert.True(row.GetProperty("requests").GetInt64() > 0);
            Assert.Equal(0, row.GetProperty("errors_pct").GetDouble());
            Assert.Equal(upstream.Requests, row.GetProperty("requests").GetInt64());
            // Measured on this process (the generator and the fake upstream run in it): it did work and has memory.
            Assert.True(row.GetProperty("cpu_s_per_1k").GetDouble() > 0);
            Assert.True(row.GetProperty("peak_rss_mb").GetDouble() > 0);
            Assert.True(row.GetProperty("switches_per_request").GetDouble() >= 0);
            // The fake upstream sends no Server-Timing: there is no gateway figure to report.
            Assert.Equal(JsonValueKind.Null, row.GetProperty("gw_p50_ms").ValueKind);
            if (stream)
            {
                Assert.True(row.GetProperty("ttft_p50_ms").GetDouble() > 0);
            }
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Fact]
    public async Task TheSpikeProfileSendsTheScheduleItWasGiven()
    {
        await using var upstream = await FakeUpstreamServer.StartAsync();
        var json = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():N}.jsonl");
        try
        {
            // 20/s for 3 s with 100/s in the middle second: 20 + 100 + 20 requests are due, and late ones are still sent.
            string[] args = ["load", "--url", new Uri(upstream.BaseUrl, "chat/completions").ToString(), "--mode", "open", "--rate", "20",
                "--spike-rate", "100", "--spike-at", "1", "--spike-seconds", "1", "--duration", "3", "--warmup", "0", "--json", json];
            Assert.Equal(0, await LoadScenario.RunAsync(args));
            var row = JsonDocument.Parse((await File.ReadAllLinesAsync(json)).Single()).RootElement;
            Assert.InRange(row.GetProperty("requests").GetInt64(), 135, 145);
            Assert.Contains("100/s for 1 s", row.GetProperty("mode").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(150)]
    public async Task AClosedLoopSpreadsItsStartsWhenAskedAndItsTimelineHasEveryRequest(int staggerMs)
    {
        // Each answer takes 400 ms: three connections send at 0, 400, 800 ms..., each shifted by its place times the stagger.
        await using var upstream = await FakeUpstreamServer.StartAsync(configure: b => b.Latency = TimeSpan.FromMilliseconds(400));
        var json = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():N}.jsonl");
        var timeline = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():N}.csv");
        try
        {
            string[] args = ["load", "--url", new Uri(upstream.BaseUrl, "chat/completions").ToString(), "--mode", "closed", "--connections", "3",
                "--stagger-ms", staggerMs.ToString(CultureInfo.InvariantCulture), "--duration", "1", "--warmup", "0", "--json", json, "--timeline", timeline];
            Assert.Equal(0, await LoadScenario.RunAsync(args));
            var row = JsonDocument.Parse((await File.ReadAllLinesAsync(json)).Single()).RootElement;
            Assert.Equal(staggerMs > 0 ? $"closed 3, {staggerMs} ms apart" : "closed 3", row.GetProperty("mode").GetString());

            // One line per request: start (Unix µs), latency (µs), start on the monotonic clock (µs).
            var requests = (await File.ReadAllLinesAsync(timeline)).Select(l => l.Split(',').Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray()).ToArray();
            Assert.Equal(row.GetProperty("requests").GetInt64(), requests.Length);
            Assert.All(requests, r => Assert.InRange(r[1], 390_000, 5_000_000));
            Assert.All(requests, r => Assert.InRange(r[0], DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds() * 1000, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000));
            var firstRound = requests.OrderBy(r => r[2]).Take(3).Select(r => r[2]).ToArray();
            var spread = (firstRound[^1] - firstRound[0]) / 1000.0;
            if (staggerMs > 0)
            {
                Assert.InRange(spread, 2 * staggerMs - 20, 2 * staggerMs + 200);
            }
            else
            {
                Assert.InRange(spread, 0, 100);
            }
        }
        finally
        {
            File.Delete(json);
            File.Delete(timeline);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public async Task TheRelayPassesEveryRequestAndHoldsRepliesAtLeastItsDelay(int delayMs)
    {
        await using var upstream = await FakeUpstreamServer.StartAsync();
        using var stop = new CancellationTokenSource();
        var port = TestServers.FreePort();
        var relay = DelayProxy.RunAsync(["delay-proxy", "--port", port.ToString(CultureInfo.InvariantCulture),
            "--target", $"127.0.0.1:{upstream.BaseUrl.Port}", "--delay-ms", delayMs.ToString(CultureInfo.InvariantCulture)], stop.Token);
        var json = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():N}.jsonl");
        try
        {
            string[] args = ["load", "--url", $"http://127.0.0.1:{port}/v1/chat/completions", "--mode", "closed", "--connections", "2",
                "--duration", "1", "--warmup", "0", "--json", json];
            Assert.Equal(0, await LoadScenario.RunAsync(args));
            var row = JsonDocument.Parse((await File.ReadAllLinesAsync(json)).Single()).RootElement;
            Assert.True(row.GetProperty("requests").GetInt64() > 0);
            Assert.Equal(0, row.GetProperty("errors_pct").GetDouble());
            Assert.Equal(upstream.Requests, row.GetProperty("requests").GetInt64());
            // The hold is a floor: no reply comes back sooner than the delay.
            Assert.True(row.GetProperty("p50_ms").GetDouble() >= delayMs);
        }
        finally
        {
            await stop.CancelAsync();
            Assert.Equal(0, await relay);
            File.Delete(json);
        }
    }

    // The scenario returns 1 unless every call was admitted and settled once.
    [Theory]
    [InlineData("--cached")]
    [InlineData("--budgets")]
    public async Task TheLimiterBenchmarkAdmitsAndSettlesEveryCall(string option) =>
        Assert.Equal(0, await LimiterScenario.RunAsync(["limiter", "--count", "300", "--concurrency", "8", option]));

    [Fact]
    public async Task TheTraceWriterBenchmarkStoresEveryTrace() =>
        Assert.Equal(0, await TracesScenario.RunAsync(["traces", "--count", "500", "--tenants", "3"]));
}
