using System.Diagnostics;
using System.Runtime;
using System.Text.Json;
using App.Api.Idempotency;
using App.Api.Problems;
using App.Application.Identity;
using App.Application.OpenAi;
using App.Infrastructure.Telemetry;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Scalar.AspNetCore;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace App.Api.Hosting;

/// <summary>The HTTP basics every endpoint relies on: logging, problem details, limits, headers, health, OpenAPI.</summary>
internal static class ServiceDefaults
{
    private static int _heapCompacted;

    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder, bool runsCommand = false)
    {
        ApplySocketCompletions(builder.Configuration);
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            kestrel.AddServerHeader = false;
            // Kestrel:Limits (MaxRequestBodySize, MaxRequestHeadersTotalSize...) from configuration.
            context.Configuration.GetSection("Kestrel:Limits").Bind(kestrel.Limits);
        });
        builder.Services.AddOptions<SocketTransportOptions>().Configure<IConfiguration>((sockets, configuration) =>
            sockets.UnsafePreferInlineScheduling = ProcessTuning.InlineScheduling(configuration.GetValue<bool?>("Hosting:InlineScheduling"), Environment.ProcessorCount));

        // The host's own logger, not Serilog's static one: a host that set and then closed the static logger silenced
        // every other host of the process with it (tests run many), and ASP.NET Core, seeing logging off, then started
        // no activity for their requests.
        builder.Services.AddSerilog((services, logger) =>
        {
            logger.ReadFrom.Configuration(builder.Configuration)
                .ReadFrom.Services(services)
                .Enrich.FromLogContext()
                .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
                .MinimumLevel.Override("Polly", LogEventLevel.Warning)
                .MinimumLevel.Override("Microsoft.EntityFrameworkCore", LogEventLevel.Warning);
            // A command's output is its stdout; its logs go to stderr.
            var toStderr = runsCommand ? LogEventLevel.Verbose : (LogEventLevel?)null;
            // Structured JSON for machines, text for people at a terminal.
            if (builder.Configuration.GetValue("Logging:Json", !builder.Environment.IsDevelopment()))
            {
                logger.WriteTo.Console(new RenderedCompactJsonFormatter(), standardErrorFromLevel: toStderr);
            }
            else
            {
                logger.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj} {TraceId}{NewLine}{Exception}", standardErrorFromLevel: toStderr);
            }
        }, preserveStaticLogger: true);

        CachingLoggerFactory.Decorate(builder.Services);

        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = AddOpenAiShapeAndTrace);
        builder.Services.AddExceptionHandler<BadRequestExceptionHandler>();
        builder.Services.AddExceptionHandler<DatabaseUnavailableHandler>();
        // A member sent twice is refused on every endpoint, as on /v1 (OpenAiJson): last-wins invites parser differentials.
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.AllowDuplicateProperties = false);
        // A body that cannot be bound reaches BadRequestExceptionHandler (a problem naming what is wrong) in every
        // environment, not only in Development.
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddOpenApi(o => o.AddOperationTransformer<ProblemResponses>());
        if (!runsCommand && ManagementEndpoint.IsEnabled(builder.Configuration))
        {
            builder.Services.AddOptions<ManagementTlsOptions>().BindConfiguration(ManagementTlsOptions.Section).ValidateOnStart();
            builder.Services.AddSingleton<IValidateOptions<ManagementTlsOptions>, ManagementTlsOptionsValidator>();
            builder.Services.AddHostedService<ManagementServer>();
        }

        return builder;
    }

    public static WebApplication UseServiceDefaults(this WebApplication app)
    {
        CompactHeapOnceStarted(app);
        // First, so that the gateway's own time includes everything the pipeline does.
        app.UseMiddleware<ServerTimingMiddleware>();
        // Outside the exception handler, so the request log records the status the client received (a body over the
        // limit is a 413 from the handler, not the 500 an exception passing by would log); the handler logs the
        // exceptions it does not handle itself.
        app.UseSerilogRequestLogging(options =>
        {
            // This host's logger (the static one is left alone, see AddSerilog above).
            options.Logger = app.Services.GetRequiredService<Serilog.ILogger>();
            // Probes, and the API's calls to itself while it warms up, would drown everything else.
            options.GetLevel = (ctx, _, ex) => ex is not null || ctx.Response.StatusCode >= 500
                ? LogEventLevel.Error
                : ctx.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal) || IsWarmUp(ctx) ? LogEventLevel.Verbose : LogEventLevel.Information;
        });
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.Use(SecurityHeaders);

        // The demo page at / (plain files, no build step), served before authentication: it holds no data.
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseAuthentication();
        app.UseAuthorization();
        app.Use(LeaveWarmUpOutOfMetrics);
        app.UseRateLimiter();
        app.UseMiddleware<IdempotencyMiddleware>();

        // The API description is public in Development; elsewhere it takes a valid token like everything else.
        var openApi = app.MapOpenApi();
        if (app.Environment.IsDevelopment())
        {
            openApi.AllowAnonymous();
            app.MapScalarApiReference().AllowAnonymous();
        }

        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteHealthAsync }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = WriteHealthAsync }).AllowAnonymous();
        return app;
    }

    private static bool IsWarmUp(HttpContext context) => ReservedTenants.IsWarmUp(context.User.FindFirst(TokenClaims.Tenant)?.Value);

    /// <summary>The API's calls to itself before it is ready are not traffic: the SLO series and dashboards never see them.</summary>
    private static Task LeaveWarmUpOutOfMetrics(HttpContext context, RequestDelegate next)
    {
        if (IsWarmUp(context) && context.Features.Get<IHttpMetricsTagsFeature>() is { } metrics)
        {
            metrics.MetricsDisabled = true;
        }

        return next(context);
    }

    /// <summary>
    /// <c>Hosting:InlineSocketCompletions</c> (default on): the code after a completed socket read or write runs on
    /// the thread that polled the socket, sparing a thread wake-up per I/O (docs/benchmarks-history.md), so request
    /// code must never block. The runtime reads <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS</c> once, at the
    /// first socket, so it is set here, before any; an explicit value in the environment wins.
    /// </summary>
    private static void ApplySocketCompletions(IConfiguration configuration)
    {
        const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
        if (Environment.GetEnvironmentVariable(Variable) is null)
        {
            Environment.SetEnvironmentVariable(Variable, configuration.GetValue("Hosting:InlineSocketCompletions", true) ? "1" : "0");
        }
    }

    /// <summary>
    /// <c>Hosting:CompactHeapAfterStart</c> (default on): one full, compacting collection once the host has started
    /// returns start-up's garbage to the operating system instead of leaving it committed for the life of the process
    /// (docs/benchmarks-history.md, "Where the memory goes"); once per process, so that a process hosting several
    /// apps, as the integration tests do, is not paused for each start.
    /// </summary>
    private static void CompactHeapOnceStarted(WebApplication app)
    {
        if (!app.Configuration.GetValue("Hosting:CompactHeapAfterStart", true))
        {
            return;
        }

        app.Lifetime.ApplicationStarted.Register(static () =>
        {
            if (Interlocked.Exchange(ref _heapCompacted, 1) != 0)
            {
                return;
            }

            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        });
    }

    private static Task SecurityHeaders(HttpContext context, RequestDelegate next)
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        // The API serves data, not documents; the Scalar UI (Development only) needs its scripts; the demo page
        // gets a strict policy: its own script and style files only, no inline code, no other origin.
        var path = context.Request.Path;
        if (path == "/" || path == "/index.html" || path == "/app.js" || path == "/rum.js" || path == "/app.css")
        {
            headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
        }
        else if (!path.StartsWithSegments("/scalar", StringComparison.Ordinal))
        {
            headers.ContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'";
        }

        return next(context);
    }

    private static void AddOpenAiShapeAndTrace(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        problem.Extensions["traceId"] = Activity.Current?.TraceId.ToString() ?? context.HttpContext.TraceIdentifier;
        // Every /v1 error is readable by OpenAI SDKs, including those produced by the framework (404, 405, 413...).
        if (context.HttpContext.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal) && !problem.Extensions.ContainsKey("error"))
        {
            problem.Extensions["error"] = new WireError
            {
                Message = problem.Detail ?? problem.Title ?? "The request failed.",
                Type = problem.Status switch
                {
                    >= 500 => "server_error",
                    401 => "authentication_error",
                    403 => "permission_error",
                    429 => "rate_limit_error",
                    _ => "invalid_request_error",
                },
                Code = problem.Status switch
                {
                    401 => "invalid_token",
                    403 => "insufficient_scope",
                    429 => "rate_limited",
                    404 => "not_found",
                    405 => "method_not_allowed",
                    413 => "request_too_large",
                    415 => "unsupported_media_type",
                    503 => "service_unavailable",
                    _ => null,
                },
            };
        }
    }

    internal static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("status", report.Status.ToString());
            json.WriteNumber("durationMs", Math.Round(report.TotalDuration.TotalMilliseconds, 1));
            json.WriteStartObject("checks");
            foreach (var (name, entry) in report.Entries)
            {
                json.WriteStartObject(name);
                json.WriteString("status", entry.Status.ToString());
                if (entry.Description is not null)
                {
                    json.WriteString("description", entry.Description);
                }

                if (entry.Data.Count > 0)
                {
                    json.WriteStartObject("data");
                    foreach (var (key, value) in entry.Data)
                    {
                        json.WriteString(key, value?.ToString());
                    }

                    json.WriteEndObject();
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return context.Response.Body.WriteAsync(buffer.ToArray()).AsTask();
    }
}
