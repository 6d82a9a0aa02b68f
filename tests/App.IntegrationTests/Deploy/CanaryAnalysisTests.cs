using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using App.Application.Identity;
using App.FakeUpstream;
using App.Testing;
using Xunit.Abstractions;

namespace App.IntegrationTests.Deploy;

/// <summary>
/// The canary's AnalysisTemplate (deploy/k8s/base/analysis-template.yaml) judged on real parts: a Prometheus scrapes
/// two instances of the service, each a process of its own with its own model provider, labelled as the Rollout's
/// PodMonitor labels a stable and a canary pod; traffic goes through both, and the template's own queries and
/// conditions, read from the YAML, decide. A healthy canary passes every step; one whose provider fails 5 % of calls,
/// or answers slower than the LLM budget, is rolled back; one that serves nothing gets no verdict. The canary's build
/// changes between scenarios as a new rollout's would: a new pod-template hash, so each run sees only its own series.
/// </summary>
/// <remarks>
/// Both instances run with retries off, so that the provider's failures are the errors their clients see (with
/// retries, a build failing 5 % of calls would mostly be hidden, which is the point of retries and not of this test).
/// Two things are the test's own: the measurements are 2 s apart instead of the template's minute, and the window
/// arg is 10 s, as a Rollout may pass it, since the test cannot wait minutes per scenario. Traffic is not weighted
/// 1/10/50 %: each instance gets enough of its own for the template's minimum rate.
/// </remarks>
public sealed class CanaryAnalysisTests(ITestOutputHelper output) : GatewayTest
{
    private const string Namespace = "app";
    private const string Window = "10s";
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, int> _statuses = new(StringComparer.Ordinal);
    private readonly int _stableManagement = TestServers.FreePort();
    private readonly int _canaryManagement = TestServers.FreePort();
    private FakeUpstreamServer _canaryUpstream = null!;
    private PrometheusServer? _prometheus;
    private WorkerProcess? _stable;
    private WorkerProcess? _canary;
    private volatile bool _canaryIdle;

    protected override Settings Configure(Settings settings) => settings
        .Route("gpt", Deployment.OpenAi(Upstream.BaseUrl, "primary").With("MaxRetries", "0"))
        .With($"Traffic:Tenants:{Tenant}:RateLimits:RequestsPerMinute", "1000000")
        .With($"Traffic:Tenants:{Tenant}:RateLimits:TokensPerMinute", "100000000");

    protected override async Task StartMoreServersAsync() => _canaryUpstream = await FakeUpstreamServer.StartAsync();

    [Fact]
    public async Task AHealthyCanaryPassesEveryStepAFailingOrSlowOneIsRolledBackAndAnIdleOneGetsNoVerdict()
    {
        var template = AnalysisTemplate.Load(Path.Combine(Databases.RepositoryRoot(), "deploy", "k8s", "base", "analysis-template.yaml"));
        Assert.Equal(["error-rate", "core-latency-p95", "llm-latency-p95"], template.Metrics.Select(m => m.Name));

        var stableUrl = FreeUrl();
        var canaryUrl = FreeUrl();
        var stableSettings = Factory.Configuration();
        stableSettings["Management:Urls"] = $"http://127.0.0.1:{_stableManagement.ToString(CultureInfo.InvariantCulture)}";
        var canarySettings = Factory.Configuration();
        canarySettings["Management:Urls"] = $"http://127.0.0.1:{_canaryManagement.ToString(CultureInfo.InvariantCulture)}";
        canarySettings["Llm:Models:gpt:Deployments:0:BaseUrl"] = _canaryUpstream.BaseUrl.ToString();
        _stable = WorkerProcess.StartService(stableSettings, stableUrl);
        _canary = WorkerProcess.StartService(canarySettings, canaryUrl);
        using var stable = ClientFor(stableUrl);
        using var canary = ClientFor(canaryUrl);
        await _stable.WaitUntilServingAsync(stable);
        await _canary.WaitUntilServingAsync(canary);

        _prometheus = await PrometheusServer.StartAsync(Targets("healthy"), []);
        using var stop = new CancellationTokenSource();
        var traffic = Task.WhenAll(
            DriveAsync("stable", stable, () => false, stop.Token),
            DriveAsync("canary", canary, () => _canaryIdle, stop.Token));
        try
        {
            // Healthy: the same build passes the analysis after each of the three pauses.
            await UntilJudgeableAsync("healthy");
            foreach (var step in new[] { "1 %", "10 %", "50 %" })
            {
                var run = await RunAsync(template, "healthy", $"healthy canary at {step}");
                Assert.Equal(AnalysisPhase.Successful, run.Phase);
            }

            // Failing: every 20th call to the canary's provider answers 500.
            var calls = 0;
            _canaryUpstream.Chaos = () => Interlocked.Increment(ref calls) % 20 == 0 ? Fault.Error(500) : Fault.Ok();
            await _prometheus.SetTargetsAsync(Targets("failing"));
            await UntilJudgeableAsync("failing");
            var failing = await RunAsync(template, "failing", "canary whose provider fails 5 % of calls");
            Assert.Equal(AnalysisPhase.Failed, failing.Phase);
            Assert.Equal(AnalysisPhase.Failed, failing.Metrics["error-rate"]);
            // The same queries on the stable pods, meanwhile: the verdict is the canary's alone.
            var stableMeanwhile = await RunAsync(template, "stable", "stable pods beside the failing canary");
            Assert.Equal(AnalysisPhase.Successful, stableMeanwhile.Phase);

            // Slow: the canary's provider takes 1.7 s, over the LLM routes' 1.5 s budget; the core routes stay fast.
            _canaryUpstream.Chaos = null;
            _canaryUpstream.Behaviour.Latency = TimeSpan.FromMilliseconds(1700);
            await _prometheus.SetTargetsAsync(Targets("slow"));
            await UntilJudgeableAsync("slow");
            var slow = await RunAsync(template, "slow", "canary whose LLM p95 is over 1.5 s");
            Assert.Equal(AnalysisPhase.Failed, slow.Phase);
            Assert.Equal(AnalysisPhase.Failed, slow.Metrics["llm-latency-p95"]);
            Assert.NotEqual(AnalysisPhase.Failed, slow.Metrics["core-latency-p95"]);

            // Idle: scraped, healthy, and serving nothing: too little traffic to judge, so no verdict either way.
            _canaryUpstream.Behaviour.Latency = TimeSpan.Zero;
            _canaryIdle = true;
            await _prometheus.SetTargetsAsync(Targets("idle"));
            await UntilJudgeableAsync("idle");
            var idle = await RunAsync(template, "idle", "idle canary");
            Assert.Equal(AnalysisPhase.Inconclusive, idle.Phase);
            Assert.All(idle.Metrics.Values, phase => Assert.Equal(AnalysisPhase.Inconclusive, phase));
        }
        finally
        {
            await stop.CancelAsync();
            await traffic;
            output.WriteLine("answered: " + string.Join(", ", _statuses.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}: {s.Value}")));
        }
    }

    public override async Task DisposeAsync()
    {
        foreach (var disposable in new IAsyncDisposable?[] { _prometheus, _stable, _canary, _canaryUpstream })
        {
            if (disposable is not null)
            {
                await disposable.DisposeAsync();
            }
        }

        await base.DisposeAsync();
    }

    private async Task<AnalysisRun> RunAsync(AnalysisTemplate template, string hash, string what)
    {
        var args = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["canary-hash"] = hash,
            ["namespace"] = Namespace,
            ["prometheus-address"] = _prometheus!.Url.ToString(),
            ["window"] = Window,
        };
        var run = await AnalysisRun.RunAsync(template, args, QueryAsync, Interval);
        output.WriteLine($"{what}: {run.Phase} ({run.Verdict})");
        foreach (var measurement in run.Measurements)
        {
            output.WriteLine("  " + measurement);
        }

        return run;
    }

    private async Task<(IReadOnlyList<double>? Values, string? Error)> QueryAsync(string query)
    {
        var (data, error) = await _prometheus!.QueryAsync(query);
        if (error is not null)
        {
            return (null, error);
        }

        if (data.GetProperty("resultType").GetString() != "vector")
        {
            return (null, "not a vector: " + data.GetProperty("resultType").GetString());
        }

        return ([.. data.GetProperty("result").EnumerateArray().Select(s => ParseSample(s.GetProperty("value")[1].GetString()!))], null);
    }

    private static double ParseSample(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    /// <summary>Waits until the canary's new series is scraped, then a window's worth of it.</summary>
    private async Task UntilJudgeableAsync(string hash)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var (data, _) = await _prometheus!.QueryAsync($"up{{rollouts_pod_template_hash=\"{hash}\"}} == 1");
            if (data.ValueKind == JsonValueKind.Object && data.GetProperty("result").GetArrayLength() > 0)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Prometheus never scraped the canary labelled {hash}");
            await Task.Delay(250);
        }

        await Task.Delay(TimeSpan.FromSeconds(11));
    }

    private IEnumerable<ScrapeTarget> Targets(string canaryHash) =>
    [
        new($"127.0.0.1:{_stableManagement.ToString(CultureInfo.InvariantCulture)}", Labels("stable")),
        new($"127.0.0.1:{_canaryManagement.ToString(CultureInfo.InvariantCulture)}", Labels(canaryHash)),
    ];

    private static Dictionary<string, string> Labels(string hash) => new(StringComparer.Ordinal)
    {
        ["namespace"] = Namespace,
        ["rollouts_pod_template_hash"] = hash,
    };

    /// <summary>Four clients, each alternating an uncached chat completion with a core read, about five a second each.</summary>
    private async Task DriveAsync(string instance, HttpClient client, Func<bool> idle, CancellationToken stop)
    {
        async Task Client(int n)
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                if (idle())
                {
                    await Task.Delay(200, CancellationToken.None);
                    continue;
                }

                try
                {
                    using var response = (i % 4) switch
                    {
                        0 or 2 => await client.PostAsJsonAsync("/v1/chat/completions", Chat($"{instance} {n} {i}", temperature: 0.7), stop),
                        1 => await client.GetAsync("/v1/models", stop),
                        _ => await client.GetAsync("/v1/usage", stop),
                    };
                    _statuses.AddOrUpdate($"{instance} {response.RequestMessage!.RequestUri!.AbsolutePath} {(int)response.StatusCode}", 1, (_, c) => c + 1);
                    await Task.Delay(150, stop);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(Client));
    }

    private HttpClient ClientFor(string url)
    {
        var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Factory.MintToken(Tenant, "user-1", [Scopes.ChatInvoke, Scopes.TracesRead]));
        return client;
    }

    private static string FreeUrl() => $"http://127.0.0.1:{TestServers.FreePort().ToString(CultureInfo.InvariantCulture)}";
}
