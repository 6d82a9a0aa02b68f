using App.Infrastructure.Telemetry;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace App.Api.Hosting;

/// <summary>
/// The management listener (<c>Management:Urls</c>): <c>/metrics</c> for Prometheus and the health endpoints, on an
/// address of its own with a pipeline of its own, so that nothing of the public API (authentication, rate limits,
/// the page) runs there and no public request can reach the metrics. It binds as the service starts, and a busy
/// address stops the start. With <see cref="ManagementTlsOptions"/> set it speaks mutual TLS only.
/// </summary>
internal sealed partial class ManagementServer(IConfiguration configuration, IServiceProvider services, ILogger<ManagementServer> logger) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var urls = ManagementEndpoint.Urls(configuration);
        // An empty builder: no appsettings, no ASPNETCORE_URLS or Kestrel:Endpoints of the public listener.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.AddServerHeader = false);
        builder.WebHost.UseUrls(urls);
        var tls = services.GetRequiredService<IOptions<ManagementTlsOptions>>().Value;
        if (tls.IsEnabled)
        {
            var certificates = ManagementCertificates.Create(tls, TimeProvider.System, services.GetRequiredService<ILogger<ManagementCertificates>>());
            builder.WebHost.UseKestrelHttpsConfiguration().ConfigureKestrel(k => k.ConfigureHttpsDefaults(certificates.Apply));
        }

        builder.Services.AddRoutingCore();
        builder.Services.AddOptions();
        var app = builder.Build();

        var health = services.GetRequiredService<HealthCheckService>();
        if (services.GetService<MeterProvider>() is { } meters)
        {
            app.UseOpenTelemetryPrometheusScrapingEndpoint(meters, c => c.Request.Path == "/metrics", null, null, null);
        }

        app.UseRouting();
        app.MapGet("/health/live", (HttpContext c) => HealthAsync(c, health, _ => false));
        app.MapGet("/health/ready", (HttpContext c) => HealthAsync(c, health, check => check.Tags.Contains("ready")));
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync();
            throw new InvalidOperationException($"The management listener could not bind {string.Join(", ", urls)} (Management:Urls): {ex.Message} Set Management:Urls to a free address, or to an empty value to turn it off.", ex);
        }

        _app = app;
        LogListening(logger, urls);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    /// <summary>As the public listener's health endpoints answer: 200 when healthy or degraded, 503 when not.</summary>
    private static async Task HealthAsync(HttpContext context, HealthCheckService health, Func<HealthCheckRegistration, bool> predicate)
    {
        var report = await health.CheckHealthAsync(predicate, context.RequestAborted);
        context.Response.StatusCode = report.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        context.Response.Headers.CacheControl = "no-store";
        await ServiceDefaults.WriteHealthAsync(context, report);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Management listener (metrics and health) on {Urls}")]
    private static partial void LogListening(ILogger logger, string[] urls);
}
