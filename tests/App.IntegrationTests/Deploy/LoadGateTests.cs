using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using App.Application.Identity;
using App.Bench.Gate;
using App.FakeUpstream;
using App.Testing;
using Xunit.Abstractions;

namespace App.IntegrationTests.Deploy;

/// <summary>
/// The load gate (deploy/ci/load.sh) run as CI runs it, against the service as a process of its own: a healthy
/// service meets every budget of deploy/ci/load-budgets.json, and each defect the gate exists for is planted and
/// fails it, naming the budget: a model route slower than its p95 budget, a provider failing one call in ten, and,
/// through a metrics endpoint planted in place of the service's, a dropped trace and a working set that keeps
/// growing. The budgets are the committed file's; only the phases are shortened (seconds, not minutes).
/// </summary>
public sealed partial class LoadGateTests(ITestOutputHelper output) : GatewayTest
{
    private static readonly string BudgetsFile = Path.Combine(Databases.RepositoryRoot(), "deploy", "ci", "load-budgets.json");

    private readonly int _management = TestServers.FreePort();
    private readonly string _work = Directory.CreateTempSubdirectory("app-load-gate-").FullName;
    private WorkerProcess? _service;

    protected override Settings Configure(Settings settings) => settings
        .Route("gpt", Deployment.OpenAi(Upstream.BaseUrl, "primary").With("MaxRetries", "0"))
        .With($"Traffic:Tenants:{Tenant}:RateLimits:RequestsPerMinute", "1000000")
        .With($"Traffic:Tenants:{Tenant}:RateLimits:TokensPerMinute", "100000000");

    [Fact]
    public async Task AHealthyServiceMeetsEveryBudgetAndEachPlantedDefectFailsTheGateNamingItsBudget()
    {
        var url = $"http://127.0.0.1:{TestServers.FreePort().ToString(CultureInfo.InvariantCulture)}";
        var settings = Factory.Configuration();
        settings["Management:Urls"] = $"http://127.0.0.1:{_management.ToString(CultureInfo.InvariantCulture)}";
        _service = WorkerProcess.StartService(settings, url);
        using (var client = new HttpClient { BaseAddress = new Uri(url) })
        {
            await _service.WaitUntilServingAsync(client);
        }

        var token = Path.Combine(_work, "token");
        await File.WriteAllTextAsync(token, Factory.MintToken(Tenant, "load", [Scopes.ChatInvoke]));
        var budgets = await ShortenedAsync(new JsonObject
        {
            ["check"] = Phases(
                new JsonObject { ["name"] = "steady", ["seconds"] = 4, ["llm_rate"] = 20, ["core_rate"] = 10 },
                new JsonObject { ["name"] = "spike", ["seconds"] = 5, ["llm_rate"] = 20, ["core_rate"] = 10, ["spike_factor"] = 5, ["spike_at"] = 1, ["spike_seconds"] = 2 }),
            ["short"] = Phases(new JsonObject { ["name"] = "steady", ["seconds"] = 3, ["llm_rate"] = 20, ["core_rate"] = 10 }),
            ["soak"] = Phases(new JsonObject { ["name"] = "soak", ["seconds"] = 6, ["llm_rate"] = 10, ["core_rate"] = 5, ["memory"] = true }),
        });
        string[] Gate(string profile, string metrics) =>
            ["deploy/ci/load.sh", "--budgets", budgets, "--profile", profile, "--base", url, "--metrics", metrics, "--model", "gpt", "--token-file", token];
        var ownMetrics = $"http://127.0.0.1:{_management.ToString(CultureInfo.InvariantCulture)}/metrics";

        // A new instance's first seconds compile its paths under load: the gate judges a service that has served before,
        // as a deployed preview has, so one short run goes first and is not judged.
        await RunAsync(Gate("short", ownMetrics));

        // Healthy: steady and spike, every budget met, traces counted from the service's own metrics.
        var healthy = await RunAsync(Gate("check", ownMetrics));
        Assert.True(healthy.ExitCode == 0, healthy.Stdout + healthy.Stderr);
        Assert.Contains("profile check against", healthy.Stdout, StringComparison.Ordinal);
        Assert.Equal(8, Verdicts(healthy.Stdout).Count(v => v.Verdict == "met"));
        Assert.Contains(Verdicts(healthy.Stdout), v => v is { Phase: "spike", Budget: LoadBudgets.TracesDropped, Measured: "0" });

        // Slow: the provider answers after 1.7 s, over the model routes' 1.5 s; the core route stays within its budget.
        Upstream.Behaviour.Latency = TimeSpan.FromMilliseconds(1700);
        var slow = await RunAsync(Gate("short", ownMetrics));
        Upstream.Behaviour.Latency = TimeSpan.Zero;
        Assert.Equal(1, slow.ExitCode);
        Assert.Equal(new[] { LoadBudgets.LlmP95 }, Missed(slow.Stdout));

        // Failing: one provider call in ten answers 500, far over the 0.5 % error budget; the report says which statuses.
        var calls = 0;
        Upstream.Chaos = () => Interlocked.Increment(ref calls) % 10 == 0 ? Fault.Error(500) : Fault.Ok();
        var failing = await RunAsync(Gate("short", ownMetrics));
        Upstream.Chaos = null;
        Assert.Equal(1, failing.ExitCode);
        Assert.Equal(new[] { LoadBudgets.Errors }, Missed(failing.Stdout));
        Assert.Matches(@"\(status:count 50\d:\d+", failing.Stdout);

        // Leaking and losing: metrics planted in place of the service's show a trace dropped and the working set
        // rising 24 MB per scrape through a soak.
        await using var planted = PlantedMetrics();
        var leaking = await RunAsync(Gate("soak", planted.Url + "metrics"));
        Assert.Equal(1, leaking.ExitCode);
        Assert.Equal(new[] { LoadBudgets.TracesDropped, LoadBudgets.MemoryGrowth }, Missed(leaking.Stdout));

        // A budget without its reason is refused before any load is sent.
        var file = JsonNode.Parse(await File.ReadAllTextAsync(budgets))!;
        file["budgets"]![LoadBudgets.CoreP95]!.AsObject().Remove("reason");
        var unexplained = Path.Combine(_work, "unexplained.json");
        await File.WriteAllTextAsync(unexplained, file.ToJsonString());
        var refused = await RunAsync(["deploy/ci/load.sh", "--budgets", unexplained, "--profile", "short", "--base", url, "--token-file", token]);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains($"budgets.{LoadBudgets.CoreP95} has no reason", refused.Stderr, StringComparison.Ordinal);
    }

    /// <summary>The gate's latency and error budgets are the canary analysis's: a release the gate passes is not rolled back for the same figures.</summary>
    [Fact]
    public void TheBudgetsAreTheCanaryAnalysisBudgets()
    {
        var budgets = LoadBudgets.Read(BudgetsFile);
        var analysis = File.ReadAllText(Path.Combine(Databases.RepositoryRoot(), "deploy", "k8s", "base", "analysis-template.yaml"));
        Assert.Equal(budgets.Max(LoadBudgets.Errors) / 100, double.Parse(ErrorCondition().Match(analysis).Groups[1].Value, CultureInfo.InvariantCulture));
        var edges = BucketEdge().Matches(analysis).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * 1000).ToList();
        Assert.Equal(new[] { budgets.Max(LoadBudgets.CoreP95), budgets.Max(LoadBudgets.LlmP95) }, edges);
        Assert.Equal(new[] { "pr", "nightly" }, budgets.Profiles.Keys);
        Assert.Contains(budgets.Profiles["nightly"], p => p.Memory && p.Seconds >= 1800);
    }

    public override async Task DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        Directory.Delete(_work, recursive: true);
        await base.DisposeAsync();
    }

    private static JsonArray Phases(params JsonObject[] phases) => [.. phases];

    private async Task<string> ShortenedAsync(JsonObject profiles)
    {
        var file = JsonNode.Parse(await File.ReadAllTextAsync(BudgetsFile))!;
        file["profiles"] = profiles;
        var path = Path.Combine(_work, "budgets.json");
        await File.WriteAllTextAsync(path, file.ToJsonString());
        return path;
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string[] args)
    {
        var result = await Tool.RunAsync("bash", args, timeout: TimeSpan.FromMinutes(2));
        output.WriteLine($"$ {string.Join(' ', args)}\nexit {result.ExitCode}\n{result.Stdout}{result.Stderr}");
        return result;
    }

    private static List<(string Phase, string Budget, string Measured, string Verdict)> Verdicts(string report) =>
        [.. ReportRow().Matches(report).Select(m => (m.Groups["phase"].Value, m.Groups["budget"].Value, m.Groups["measured"].Value, m.Groups["verdict"].Value))];

    private static List<string> Missed(string report) => [.. Verdicts(report).Where(v => v.Verdict == "MISSED").Select(v => v.Budget)];

    [GeneratedRegex(@"^\| (?<phase>[a-z]+) \| (?<budget>[a-z0-9_]+) \| (?<measured>[^|]+) \| [^|]+ \| (?<verdict>met|MISSED) \|", RegexOptions.Multiline)]
    private static partial Regex ReportRow();

    [GeneratedRegex(@"name: error-rate[\s\S]*?failureCondition: len\(result\) == 1 && result\[0\] > ([0-9.]+)")]
    private static partial Regex ErrorCondition();

    [GeneratedRegex(@"le=""([0-9.]+)""")]
    private static partial Regex BucketEdge();

    /// <summary>Metrics standing in for a service that leaks and loses: each scrape 24 MB more working set and one more dropped trace.</summary>
    private static LoopbackHttpServer PlantedMetrics()
    {
        var scrapes = 0;
        return new LoopbackHttpServer(_ =>
        {
            var n = Interlocked.Increment(ref scrapes);
            return (200, "text/plain; version=0.0.4", string.Create(CultureInfo.InvariantCulture, $$"""
                # TYPE dotnet_process_memory_working_set_bytes gauge
                dotnet_process_memory_working_set_bytes {{200_000_000L + (n * 24L * 1024 * 1024)}}
                # TYPE app_traces_dropped_total counter
                app_traces_dropped_total{app_traces_reason="queue full"} {{n}}
                # TYPE app_traces_queued gauge
                app_traces_queued 0

                """));
        });
    }
}
