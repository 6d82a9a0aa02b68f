using App.Application.Telemetry;
using App.Infrastructure.Traces;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace App.Infrastructure.Telemetry;

/// <summary>The OpenTelemetry SDK's tracing and metrics pipelines, exported over OTLP.</summary>
internal static class TelemetryServices
{
    public static IHostApplicationBuilder AddTelemetry(this IHostApplicationBuilder builder)
    {
        // The SDK's pipelines do work on every request that pays off only when a collector reads it, so they run only
        // when OTEL_EXPORTER_OTLP_ENDPOINT names one; without it requests still get W3C trace ids and in-process
        // listeners still see the App.Gateway spans and meters (docs/benchmarks.md measures both).
        if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            return builder;
        }

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(builder.Configuration["OTEL_SERVICE_NAME"] ?? builder.Environment.ApplicationName))
            .WithTracing(t => t
                .AddSource(GatewayTelemetry.SourceName)
                .AddAspNetCoreInstrumentation(o => o.Filter = ctx => !ctx.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal))
                .AddHttpClientInstrumentation())
            .WithMetrics(m => m
                .AddMeter(GatewayTelemetry.SourceName, TraceWriter.MeterName, "Polly")
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation())
            .UseOtlpExporter();
        return builder;
    }
}
