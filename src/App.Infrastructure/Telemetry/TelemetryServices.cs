using App.Application.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace App.Infrastructure.Telemetry;

/// <summary>
/// The OpenTelemetry SDK's pipelines: metrics for Prometheus to scrape on the management listener, and traces and
/// metrics over OTLP when a collector is named.
/// </summary>
internal static class TelemetryServices
{
    /// <summary>
    /// The latency budgets (0.3 s for the core API, 1.5 s for the LLM routes) are bucket edges, so that the SLO rules
    /// count requests over budget exactly instead of interpolating.
    /// </summary>
    private static readonly double[] RequestDurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.3, 0.5, 0.75, 1, 1.5, 2.5, 5, 7.5, 10, 30, 60];

    public static IHostApplicationBuilder AddTelemetry(this IHostApplicationBuilder builder)
    {
        // The SDK's pipelines do work on every request that pays off only when something reads it: metrics run when
        // Prometheus can scrape them (the management listener is on, as by default) or a collector is named; traces
        // only with a collector. Without either, requests still get W3C trace ids and in-process listeners still see
        // the App.* spans and meters (docs/benchmarks.md measures both).
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var prometheus = ManagementEndpoint.IsEnabled(builder.Configuration);
        if (!otlp && !prometheus)
        {
            return builder;
        }

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(builder.Configuration["OTEL_SERVICE_NAME"] ?? builder.Environment.ApplicationName))
            .WithMetrics(m =>
            {
                m.AddMeter([.. MeterNames.All, "Polly"])
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddView("http.server.request.duration", new ExplicitBucketHistogramConfiguration { Boundaries = RequestDurationBuckets });
                if (prometheus)
                {
                    m.AddPrometheusExporter();
                }
            });
        builder.Services.AddHostedService<MetricBaselines>();
        if (otlp)
        {
            telemetry
                .WithTracing(t => t
                    .AddSource(GatewayTelemetry.SourceName)
                    .AddAspNetCoreInstrumentation(o => o.Filter = ctx => !ctx.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal))
                    .AddHttpClientInstrumentation())
                .UseOtlpExporter();
        }

        return builder;
    }
}
