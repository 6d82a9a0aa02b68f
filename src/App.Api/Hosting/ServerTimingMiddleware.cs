using System.Collections.Concurrent;
using System.Globalization;
using App.Application.Calls;
using App.Application.Telemetry;

namespace App.Api.Hosting;

/// <summary>
/// Splits each <c>/v1</c> request's time between the gateway and the model providers it waited on: a W3C
/// <c>Server-Timing</c> header on every answer (<c>gw;dur=0.412, upstream;dur=812.004</c>, in milliseconds, as of
/// the moment the headers leave: for a stream, up to its first token) and, once the request is over, the
/// <c>app.gateway.overhead</c> and <c>app.gateway.upstream.duration</c> histograms by route group.
/// </summary>
internal sealed class ServerTimingMiddleware(RequestDelegate next)
{
    private static readonly ConcurrentDictionary<string, string> Groups = new(StringComparer.Ordinal);

    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal))
        {
            await next(context);
            return;
        }

        var timing = new CallTiming();
        context.Features.Set(timing);
        context.Response.OnStarting(WriteHeader, (context.Response, timing));
        try
        {
            await next(context);
        }
        finally
        {
            Record(context, timing);
        }
    }

    private static Task WriteHeader(object state)
    {
        var (response, timing) = ((HttpResponse, CallTiming))state;
        var upstream = timing.Upstream;
        var gateway = timing.Elapsed - upstream;
        response.Headers["Server-Timing"] = timing.CalledUpstream
            ? string.Create(CultureInfo.InvariantCulture, $"gw;dur={gateway.TotalMilliseconds:0.###}, upstream;dur={upstream.TotalMilliseconds:0.###}")
            : string.Create(CultureInfo.InvariantCulture, $"gw;dur={gateway.TotalMilliseconds:0.###}");
        return Task.CompletedTask;
    }

    private static void Record(HttpContext context, CallTiming timing)
    {
        var upstream = timing.Upstream;
        var group = new KeyValuePair<string, object?>("app.route_group", GroupOf(context));
        GatewayTelemetry.Overhead.Record(Math.Max(0, (timing.Elapsed - upstream).TotalSeconds), group);
        if (timing.CalledUpstream)
        {
            GatewayTelemetry.UpstreamDuration.Record(upstream.TotalSeconds, group);
        }
    }

    /// <summary>The first segment after <c>/v1/</c> of the matched route (<c>chat</c>, <c>prompts</c>, <c>jobs</c>...), as the dashboards group <c>http.route</c>.</summary>
    private static string GroupOf(HttpContext context)
    {
        if (context.GetEndpoint() is not RouteEndpoint { RoutePattern.RawText: { } route })
        {
            return "unmatched";
        }

        return Groups.GetOrAdd(route, static r =>
        {
            var rest = r.TrimStart('/');
            rest = rest.StartsWith("v1/", StringComparison.Ordinal) ? rest[3..] : rest;
            var end = rest.IndexOf('/', StringComparison.Ordinal);
            return end < 0 ? rest : rest[..end];
        });
    }
}
