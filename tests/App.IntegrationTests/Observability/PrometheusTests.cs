using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using App.Application.Identity;
using App.FakeUpstream;
using App.Testing;
using Xunit.Abstractions;

namespace App.IntegrationTests.Observability;

/// <summary>
/// The rules and dashboards in deploy/observability against the real thing: a Prometheus scraping the management
/// listener of the service, run as its own process as a deployment runs it, while requests of every kind go through it. Every query of every dashboard panel must run and
/// return series; with a healthy upstream no alert is pending; with the upstream failing the availability burn-rate
/// alert goes pending.
/// </summary>
// The RUM histograms have no attributes and are one per process: the tests that send beacons take turns.
[Collection("rum beacons")]
public sealed class PrometheusTests(ITestOutputHelper output) : GatewayTest
{
    private readonly string _limited = "t-" + Guid.NewGuid().ToString("N")[..10];
    private readonly int _management = TestServers.FreePort();
    private PrometheusServer? _prometheus;
    private WorkerProcess? _service;
    private HttpClient? _anonymous;

    protected override Settings Configure(Settings settings) => base.Configure(settings)
        .With("Traffic:Prices:gpt:InputPerMillion", "5")
        .With("Traffic:Prices:gpt:OutputPerMillion", "15")
        .With($"Traffic:Tenants:{Tenant}:Budgets:MonthlyCost", "100")
        .With($"Traffic:Tenants:{Tenant}:Budgets:DailyTokens", "10000000")
        .With($"Traffic:Tenants:{Tenant}:RateLimits:RequestsPerMinute", "1000000")
        .With($"Traffic:Tenants:{Tenant}:RateLimits:TokensPerMinute", "100000000")
        .With($"Traffic:Tenants:{_limited}:RateLimits:RequestsPerMinute", "2")
        .With("Rum:PermitsPerMinute", "10000");

    [Fact]
    public async Task EveryDashboardQueryAnswersAndTheAvailabilityAlertFollowsTheUpstream()
    {
        var root = Databases.RepositoryRoot();
        var rules = Path.Combine(root, "deploy", "observability", "prometheus");
        _prometheus = await PrometheusServer.StartAsync(
            [$"127.0.0.1:{_management.ToString(CultureInfo.InvariantCulture)}"],
            [Path.Combine(rules, "recording-rules.yml"), Path.Combine(rules, "alerts.yml")]);

        // Its own process: hosts sharing one (as the other tests' do) share the framework's instruments too, and one
        // stopping ends their streams for all.
        var url = $"http://127.0.0.1:{TestServers.FreePort().ToString(CultureInfo.InvariantCulture)}";
        var settings = Factory.Configuration();
        settings["Management:Urls"] = $"http://127.0.0.1:{_management.ToString(CultureInfo.InvariantCulture)}";
        _service = WorkerProcess.StartService(settings, url);
        using var anonymous = new HttpClient { BaseAddress = new Uri(url) };
        await _service.WaitUntilServingAsync(anonymous);

        // Healthy: a bit of everything the dashboards show.
        using var reader = ClientFor(url, Tenant, Scopes.ChatInvoke, Scopes.JobsWrite, Scopes.TracesRead);
        using var limited = ClientFor(url, _limited, Scopes.ChatInvoke);
        _anonymous = anonymous;
        var statuses = await LoadAsync(TimeSpan.FromSeconds(12), reader, limited, failing: false);
        output.WriteLine("healthy load: " + string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}")));
        Assert.DoesNotContain(statuses.Keys, s => s[^3] == '5');
        await WaitForScrapesAsync();

        var failures = new List<string>();
        var queries = DashboardQueries(Path.Combine(root, "deploy", "observability", "grafana")).ToList();
        foreach (var (dashboard, panel, expr) in queries)
        {
            var (data, error) = await _prometheus.QueryAsync(Substitute(expr));
            if (error is not null)
            {
                failures.Add($"{dashboard} / {panel}: error {error}: {expr}");
            }
            else if (IsEmpty(data) && !NeedsHistory(expr))
            {
                failures.Add($"{dashboard} / {panel}: no series: {expr}");
            }
        }

        output.WriteLine($"{queries.Count} dashboard queries evaluated, {queries.Count(q => NeedsHistory(q.Expr))} need more than a day of history");
        Assert.True(failures.Count == 0, string.Join('\n', failures));

        var ruleHealth = await _prometheus.GetAsync("api/v1/rules");
        var broken = ruleHealth.GetProperty("groups").EnumerateArray()
            .SelectMany(g => g.GetProperty("rules").EnumerateArray())
            .Where(r => r.GetProperty("health").GetString() != "ok")
            .Select(r => $"{r.GetProperty("name").GetString()}: {(r.TryGetProperty("lastError", out var e) ? e.GetString() : "?")}")
            .ToList();
        Assert.True(broken.Count == 0, string.Join('\n', broken));
        // The latency budgets are bucket edges, so the SLO rules count requests over budget exactly.
        foreach (var edge in new[] { "0.3", "1.5" })
        {
            var (buckets, _) = await _prometheus.QueryAsync($"http_server_request_duration_seconds_bucket{{le=\"{edge}\"}}");
            Assert.False(IsEmpty(buckets), $"no bucket at {edge} s");
        }

        var active = await ActiveAlertsAsync();
        Assert.True(active.Count == 0, "alerts with a healthy upstream: " + string.Join(", ", active));

        // Failing: every call to the model provider answers 500.
        Upstream.Default = Fault.Error(500);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string? state = null;
        var failing = LoadAsync(TimeSpan.FromSeconds(60), reader, limited, failing: true, stop: () => state is not null);
        while (DateTime.UtcNow < deadline && state is null)
        {
            await Task.Delay(500);
            state = (await ActiveAlertsAsync()).FirstOrDefault(a => a.StartsWith("ApiAvailabilityBudgetBurnFast", StringComparison.Ordinal));
        }

        var failed = await failing;
        output.WriteLine("failing load: " + string.Join(", ", failed.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}")));
        Assert.NotNull(state);
        output.WriteLine("alert: " + state);
    }

    public override async Task DisposeAsync()
    {
        if (_prometheus is not null)
        {
            await _prometheus.DisposeAsync();
        }

        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    /// <summary>Requests of every kind from a few concurrent clients; the count of each status answered.</summary>
    private async Task<Dictionary<string, int>> LoadAsync(TimeSpan duration, HttpClient reader, HttpClient limited, bool failing, Func<bool>? stop = null)
    {
        var statuses = new Dictionary<string, int>(StringComparer.Ordinal);
        var until = DateTime.UtcNow + duration;
        async Task Worker(int n)
        {
            // Two rounds of every kind at least, however slow a busy machine makes them.
            for (var i = 0; (DateTime.UtcNow < until || (!failing && i < 16)) && stop?.Invoke() != true; i++)
            {
                using var response = failing
                    ? await reader.PostAsJsonAsync("/v1/chat/completions", Chat($"failing {n} {i}", temperature: 0.7))
                    : await SendOneAsync(reader, limited, n, i);
                if (failing)
                {
                    // A circuit that opened answers 503 at once: paced, so that the scrapes and rule evaluations the
                    // test waits for keep their share of the machine.
                    await Task.Delay(25);
                }

                var key = $"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri!.AbsolutePath} {(int)response.StatusCode}";
                lock (statuses)
                {
                    statuses[key] = statuses.GetValueOrDefault(key) + 1;
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(Worker));
        return statuses;
    }

    private async Task<HttpResponseMessage> SendOneAsync(HttpClient reader, HttpClient limited, int worker, int i)
    {
        switch ((worker + i) % 8)
        {
            case 0:
                return await reader.PostAsJsonAsync("/v1/chat/completions", Chat($"miss {worker} {i}", temperature: 0.7));
            case 1:
                return await reader.PostAsJsonAsync("/v1/chat/completions", Chat("the same question", temperature: 0));
            case 2:
                var stream = await reader.PostAsJsonAsync("/v1/chat/completions", Chat($"stream {worker} {i}", temperature: 0.7, stream: true));
                await stream.Content.ReadAsStringAsync();
                return stream;
            case 3:
                return await reader.GetAsync("/v1/traces?limit=5");
            case 4:
                return await reader.GetAsync("/v1/usage");
            case 5:
                using (var job = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs"))
                {
                    job.Content = new StringContent(new JsonObject { ["request"] = Chat($"job {worker} {i}", temperature: 0.7) }.ToJsonString(), Encoding.UTF8, "application/json");
                    job.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
                    return await reader.SendAsync(job);
                }

            case 6 when i % 2 == 0:
                return await limited.PostAsJsonAsync("/v1/chat/completions", Chat($"limited {worker} {i}", temperature: 0.7));
            case 6:
                // What the page at / sends when it is hidden.
                using (var beacon = new StringContent("{\"lcp\":1840,\"inp\":96,\"cls\":0.04,\"ttft\":620}", Encoding.UTF8, "text/plain"))
                {
                    return await _anonymous!.PostAsync("/rum", beacon);
                }

            default:
                return await reader.GetAsync("/v1/models");
        }
    }

    private HttpClient ClientFor(string url, string tenant, params string[] scopes)
    {
        var client = new HttpClient { BaseAddress = new Uri(url) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Factory.MintToken(tenant, "user-1", scopes));
        return client;
    }


    /// <summary>Waits until Prometheus holds a few scrapes of everything the load produced.</summary>
    private async Task WaitForScrapesAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            var (data, _) = await _prometheus!.QueryAsync("count_over_time(up{job=\"app\"}[1m])");
            if (!IsEmpty(data) && double.Parse(data.GetProperty("result")[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture) >= 5)
            {
                await Task.Delay(3000);
                return;
            }

            await Task.Delay(500);
        }

        Assert.Fail("Prometheus did not scrape the management listener");
    }

    private async Task<List<string>> ActiveAlertsAsync()
    {
        var alerts = await _prometheus!.GetAsync("api/v1/alerts");
        return [.. alerts.GetProperty("alerts").EnumerateArray()
            .Select(a => $"{a.GetProperty("labels").GetProperty("alertname").GetString()} ({a.GetProperty("state").GetString()}, value {a.GetProperty("value").GetString()})")];
    }

    private static bool IsEmpty(JsonElement data) =>
        data.GetProperty("result") is { ValueKind: JsonValueKind.Array } result && result.GetArrayLength() == 0;

    /// <summary>Queries that compare with days ago (offset) cannot have series in a Prometheus started a minute ago.</summary>
    private static bool NeedsHistory(string expr) => expr.Contains("offset", StringComparison.Ordinal) || expr.Contains("_7d", StringComparison.Ordinal);

    /// <summary>Grafana's variables as Grafana would fill them with "All" selected and a 1 s scrape interval.</summary>
    private static string Substitute(string expr) => expr
        .Replace("$__rate_interval", "30s", StringComparison.Ordinal)
        .Replace("$__range", "5m", StringComparison.Ordinal)
        .Replace("$model", ".*", StringComparison.Ordinal)
        .Replace("$tenant", ".*", StringComparison.Ordinal);

    private static IEnumerable<(string Dashboard, string Panel, string Expr)> DashboardQueries(string directory)
    {
        foreach (var file in Directory.GetFiles(directory, "*.json").Order(StringComparer.Ordinal))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            var title = document.RootElement.GetProperty("title").GetString()!;
            foreach (var panel in Panels(document.RootElement))
            {
                if (!panel.TryGetProperty("targets", out var targets))
                {
                    continue;
                }

                foreach (var target in targets.EnumerateArray())
                {
                    if (target.TryGetProperty("expr", out var expr))
                    {
                        yield return (title, panel.GetProperty("title").GetString()!, expr.GetString()!);
                    }
                }
            }
        }
    }

    private static IEnumerable<JsonElement> Panels(JsonElement parent)
    {
        if (!parent.TryGetProperty("panels", out var panels))
        {
            yield break;
        }

        foreach (var panel in panels.EnumerateArray())
        {
            yield return panel;
            foreach (var inner in Panels(panel))
            {
                yield return inner;
            }
        }
    }
}
