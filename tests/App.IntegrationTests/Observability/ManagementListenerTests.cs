using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using App.Testing;

namespace App.IntegrationTests.Observability;

/// <summary>
/// The management listener (Management:Urls): /metrics in Prometheus' text format and the health endpoints on an
/// address of their own, with the series names docs/operations.md promises; none of it on the public listener. (ASP.NET
/// Core's own series are checked by PrometheusTests, on a service in a process of its own: its instruments are per
/// host, and in this process another test's host stopping can end them.) Spend
/// and token metrics label the first Traffic:MetricTenants tenants and fold the rest into "other".
/// </summary>
// The RUM histograms have no attributes and are one per process: the tests that send beacons take turns.
[Collection("rum beacons")]
public sealed class ManagementListenerTests : GatewayTest
{
    private readonly int _port = TestServers.FreePort();
    private readonly string _second = "t-" + Guid.NewGuid().ToString("N")[..10];
    private readonly string _third = "t-" + Guid.NewGuid().ToString("N")[..10];

    protected override Settings Configure(Settings settings) => base.Configure(settings)
        .With("Management:Urls", $"http://127.0.0.1:{_port.ToString(CultureInfo.InvariantCulture)}")
        .With("Traffic:Prices:gpt:InputPerMillion", "5")
        .With("Traffic:Prices:gpt:OutputPerMillion", "15")
        .With($"Traffic:Tenants:{Tenant}:Budgets:MonthlyCost", "250")
        .With("Traffic:MetricTenants", "1");

    [Fact]
    public async Task MetricsAndHealthAreServedOnTheManagementAddressOnly()
    {
        using (var stream = await PostAsync(Chat("a stream", temperature: 0.7, stream: true)))
        {
            Assert.True((await ReadStreamAsync(stream)).Done);
        }

        using (var whole = await PostAsync(Chat("a whole answer", temperature: 0.7)))
        {
            Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        }

        using (var beacon = await Factory.CreateClient().PostAsync("/rum", new StringContent("{\"lcp\":1200,\"inp\":80,\"cls\":0.02,\"ttft\":450}", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.NoContent, beacon.StatusCode);
        }

        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port.ToString(CultureInfo.InvariantCulture)}") };
        var text = await ScrapeUntilAsync(management, "app_budget_limit{");
        foreach (var series in new[]
        {
            "gen_ai_client_operation_duration_seconds_bucket{", "gen_ai_client_token_usage_bucket{",
            "gen_ai_server_time_to_first_token_seconds_bucket{", "gen_ai_server_time_per_output_token_seconds_bucket{",
            "app_gateway_overhead_seconds_bucket{", "app_gateway_upstream_duration_seconds_bucket{", "app_gateway_cache_lookups_total{",
            "app_usage_cost_USD_total{", "app_usage_tokens_total{", "app_budget_utilization{", "app_budget_limit{", "app_jobs_queued",
            "app_jobs_running", "app_jobs_finished_total{", "app_traces_written_total", "app_traces_dropped_total{", "app_database_unavailable_total",
            "dotnet_process_cpu_time_seconds_total", "dotnet_thread_pool_queue_length_total",
            "app_rum_lcp_seconds_bucket{", "app_rum_inp_seconds_bucket{", "app_rum_cls_bucket{", "app_rum_ttft_seconds_bucket{",
        })
        {
            Assert.Contains(series, text, StringComparison.Ordinal);
        }

        Assert.Contains($"app_budget_limit{{otel_scope_name=\"App.Gateway\",app_budget_kind=\"cost\",app_budget_period=\"month\",tenant=\"{Tenant}\"}} 250", text, StringComparison.Ordinal);
        Assert.Contains("app_gateway_overhead_seconds_count{otel_scope_name=\"App.Gateway\",app_route_group=\"chat\"}", text, StringComparison.Ordinal);

        using var ready = await management.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        using var live = await management.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        using var api = await management.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.NotFound, api.StatusCode);

        // A caller with a valid token on the public listener finds no metrics.
        using var publicMetrics = await Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.NotFound, publicMetrics.StatusCode);
    }

    [Fact]
    public async Task TenantsPastTheLabelledFewAreFoldedIntoOther()
    {
        // Tenant is named under Traffic:Tenants (a budget), so it keeps its label without taking the one free slot.
        foreach (var tenant in new[] { Tenant, _second, _third })
        {
            using var client = Factory.CreateClientFor(tenant);
            using var response = await client.PostAsync("/v1/chat/completions", new StringContent(Chat($"spend for {tenant}", temperature: 0.7).ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port.ToString(CultureInfo.InvariantCulture)}") };
        var text = await ScrapeUntilAsync(management, $"tenant=\"{_second}\"", "tenant=\"other\"");
        var cost = text.Split('\n').Where(l => l.StartsWith("app_usage_cost_USD_total{", StringComparison.Ordinal)).ToList();
        Assert.Contains(cost, l => l.Contains($"tenant=\"{Tenant}\"", StringComparison.Ordinal));
        Assert.Contains(cost, l => l.Contains($"tenant=\"{_second}\"", StringComparison.Ordinal));
        Assert.Contains(cost, l => l.Contains("tenant=\"other\"", StringComparison.Ordinal));
        Assert.DoesNotContain(_third, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AManagementAddressInUseStopsTheStart()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        await using var factory = new GatewayFactory(Redis.ConnectionString, await Databases.SharedAsync(), new Settings()
            .With("Management:Urls", $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"));
        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains("Management:Urls", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnotherHostStoppingInTheSameProcessDoesNotEndThisOnesSeries()
    {
        // Identical instruments share one stream in the SDK; an instrument disposed with another host used to end it
        // for every host of the process (the traces written, the budget gauges).
        await using (var other = new GatewayFactory(Redis.ConnectionString, await Databases.SharedAsync(), new Settings().Route("offline", Deployment.Offline())))
        {
            using var client = other.CreateClientFor("t-" + Guid.NewGuid().ToString("N")[..10]);
            using var answer = await client.PostAsync("/v1/chat/completions", new StringContent(Chat("elsewhere", model: "offline", temperature: 0.7).ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        // A collection after the other host stopped (a stream it ended is exported once more, then no longer), past
        // the exporter's 300 ms cache, then this host's own work.
        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port.ToString(CultureInfo.InvariantCulture)}") };
        await ScrapeUntilAsync(management);
        await Task.Delay(500);
        using (var whole = await PostAsync(Chat("after the other host stopped", temperature: 0.7)))
        {
            Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        }

        await Task.Delay(500);
        var text = await ScrapeUntilAsync(management, $"tenant=\"{Tenant}\"", "app_traces_written_total{otel_scope_name=\"App.Traces\"} ");
        foreach (var series in new[] { "app_traces_written_total", "app_traces_queued", "app_budget_limit{", "app_gateway_circuit_state{", "app_jobs_queued" })
        {
            Assert.Contains(series, text, StringComparison.Ordinal);
        }
    }

    /// <summary>Settlements and the scrape cache (300 ms) trail the answers a little: scrapes until every text appears.</summary>
    private static async Task<string> ScrapeUntilAsync(HttpClient management, params string[] expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            using var response = await management.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
            var text = await response.Content.ReadAsStringAsync();
            if (expected.All(e => text.Contains(e, StringComparison.Ordinal)) || DateTime.UtcNow > deadline)
            {
                return text;
            }

            await Task.Delay(200);
        }
    }
}
