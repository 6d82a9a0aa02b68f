using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using App.Application.Identity;
using App.FakeUpstream;
using App.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace App.IntegrationTests;

/// <summary>
/// With a collector configured (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>), what docs/operations.md lists reaches it: a
/// collector on loopback receives the app's OTLP exports (HTTP and protobuf) and the test looks for the names.
/// </summary>
public sealed class OtlpExportTests : GatewayTest
{
    private readonly ConcurrentQueue<(string Path, byte[] Body)> _exports = new();
    private WebApplication? _collector;
    private string _collectorUrl = string.Empty;

    protected override async Task StartMoreServersAsync()
    {
        _collector = LoopbackHost.Create();
        _collector.MapPost("/v1/{signal}", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            _exports.Enqueue((context.Request.Path.Value!, body.ToArray()));
            context.Response.ContentType = "application/x-protobuf";
        });
        _collectorUrl = await LoopbackHost.StartAsync(_collector);
    }

    protected override Settings Configure(Settings settings) => base.Configure(settings)
        .Route("offline", Deployment.Offline())
        .With("OTEL_EXPORTER_OTLP_ENDPOINT", _collectorUrl)
        .With("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        .With("OTEL_METRIC_EXPORT_INTERVAL", "300")
        .With("OTEL_BSP_SCHEDULE_DELAY", "100")
        .With("Traces:FlushInterval", "00:00:00.050")
        // What is under test is the export, not the writer's priority: at nice 19 a machine busy with other
        // processes can leave the writer no CPU for the whole wait, and app.traces.written then never moves.
        .With("Traces:LowPriority", "false");

    [Fact]
    public async Task EveryDocumentedMeterAndTheModelCallSpanReachTheCollector()
    {
        using (var response = await PostAsync(Chat("export me", model: "offline", temperature: 0)))
        {
            await ReadAsync(response);
        }

        using (var hit = await PostAsync(Chat("export me", model: "offline", temperature: 0)))
        {
            Assert.Equal("hit", Header(hit, "x-cache"));
        }

        // app.traces.written moves once the writer has stored the traces. On a machine busy with the rest of the
        // suite that can take a while, and it is not what this test is about: it first waits for both traces to be
        // readable, then gives the export its own deadline, so a failure says which of the two was late.
        var stored = await StoredTracesAsync(expected: 2, TimeSpan.FromSeconds(60));
        Assert.True(stored == 2, $"the writer stored {stored} of 2 traces within 60 s");

        // One instrument of each meter the service creates (App.Gateway, App.Traces), the GenAI conventions, and the
        // runtime's. ASP.NET Core's instruments are per host, and in this process another test's host stopping can end
        // their stream: PrometheusTests checks them on a service in a process of its own.
        string[] metrics = ["gen_ai.client.token.usage", "app.gateway.cache.lookups", "app.gateway.cache.local.size", "app.traces.written", "app.traces.queued", "dotnet.process.cpu.time"];
        var deadline = DateTime.UtcNow.AddSeconds(20);
        string[] missing = metrics;
        while (DateTime.UtcNow < deadline)
        {
            var exported = Exported("/v1/metrics");
            missing = [.. metrics.Where(m => !exported.Contains(m, StringComparison.Ordinal))];
            if (missing.Length == 0 && Exported("/v1/traces").Contains("chat offline", StringComparison.Ordinal))
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.True(missing.Length == 0, $"not exported: {string.Join(", ", missing)}; exports received: {_exports.Count(e => e.Path == "/v1/metrics")} of metrics, {_exports.Count(e => e.Path == "/v1/traces")} of spans");
        Assert.Contains("chat offline", Exported("/v1/traces"), StringComparison.Ordinal);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_collector is not null)
        {
            await _collector.DisposeAsync();
        }
    }

    private async Task<int> StoredTracesAsync(int expected, TimeSpan wait)
    {
        using var reader = Factory.CreateClientFor(Tenant, "auditor", Scopes.TracesRead);
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            using var page = JsonDocument.Parse(await reader.GetStringAsync("/v1/traces?limit=10"));
            var count = page.RootElement.GetProperty("data").GetArrayLength();
            if (count >= expected || DateTime.UtcNow > deadline)
            {
                return count;
            }

            await Task.Delay(100);
        }
    }

    // Protobuf keeps names as UTF-8 bytes: reading the bodies as Latin-1 text finds them without a decoder.
    private string Exported(string path) =>
        string.Concat(_exports.Where(e => e.Path == path).Select(e => Encoding.Latin1.GetString(e.Body)));
}
