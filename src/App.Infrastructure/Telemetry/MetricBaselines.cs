using App.Application.Telemetry;
using App.Infrastructure.Persistence;
using App.Infrastructure.Traces;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;

namespace App.Infrastructure.Telemetry;

/// <summary>
/// Puts the counters of rare events (losses, dead letters, refusals, fallbacks...) at zero once the metrics pipeline
/// listens, with the label values known in advance: a counter that never moved has no series in Prometheus, and an
/// alert or panel on it would read "no data" where the truth is "none".
/// </summary>
internal sealed class MetricBaselines(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Measurements made before the pipeline listens are not kept: build it first.
        _ = services.GetService<MeterProvider>();
        foreach (var status in new[] { "succeeded", "failed", "dead_lettered" })
        {
            GatewayTelemetry.JobsFinished.Add(0, new KeyValuePair<string, object?>("app.job.status", status));
        }

        foreach (var reason in new[] { "reclaimed", "stale" })
        {
            GatewayTelemetry.JobRedeliveries.Add(0, new KeyValuePair<string, object?>("app.job.reason", reason));
        }

        foreach (var operation in new[] { "read", "write" })
        {
            GatewayTelemetry.CacheErrors.Add(0, new KeyValuePair<string, object?>("app.cache.operation", operation));
        }

        GatewayTelemetry.JobRetries.Add(0);
        GatewayTelemetry.JobDuplicates.Add(0);
        GatewayTelemetry.JobLeaseHeld.Add(0);
        GatewayTelemetry.Fallbacks.Add(0);
        GatewayTelemetry.Retries.Add(0);
        GatewayTelemetry.Rejections.Add(0);
        GatewayTelemetry.StreamErrors.Add(0);
        GatewayTelemetry.TrafficRefusals.Add(0);
        GatewayTelemetry.TrafficUnenforced.Add(0);
        GatewayTelemetry.TrafficLeased.Add(0);
        GatewayTelemetry.OverlapsCancelled.Add(0);
        TraceWriter.Baseline();
        DatabaseOutage.Baseline();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
