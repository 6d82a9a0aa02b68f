using App.Api.Problems;
using App.Application.Rum;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace App.Api.Rum;

/// <summary>
/// <c>POST /rum</c>: the demo page's real-user monitoring beacon (Core Web Vitals and the time to the first token as
/// the user saw it), recorded as <see cref="RumTelemetry"/> histograms. Anonymous, since the page measures before
/// anyone signs in; what it accepts is bounded instead: size, media type, member names, ranges and rate.
/// </summary>
internal static class RumApi
{
    public static RouteGroupBuilder MapRum(this IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<IOptions<RumOptions>>().Value;
        var group = app.MapGroup("/rum").WithTags("Monitoring").AllowAnonymous();
        if (!options.Enabled)
        {
            return group;
        }

        group.MapPost(string.Empty, ReceiveAsync).WithName("ReceiveRumBeacon")
            .WithSummary("Records one page view's LCP, INP, CLS and time to first token (times in milliseconds), as navigator.sendBeacon sends them.")
            .RequireRateLimiting(new RumRateLimitPolicy(options.PermitsPerMinute))
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        return group;
    }

    private static async Task<IResult> ReceiveAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        // A browser names where a request comes from; another site's page could otherwise fill these histograms.
        if (request.Headers["Sec-Fetch-Site"] is { Count: > 0 } site && site != "same-origin")
        {
            return ApiProblems.Problem(403, "cross-origin-beacon", "The beacon comes from another site.",
                "Beacons are accepted from this service's own page only.", "permission_error", null, "cross_origin");
        }

        if (!IsAcceptedMediaType(request.ContentType))
        {
            return ApiProblems.Problem(415, "unsupported-media-type", "Unsupported media type.",
                "Send the beacon as UTF-8 JSON with 'Content-Type: application/json' or 'text/plain'.", "invalid_request_error", null, "unsupported_media_type");
        }

        var body = request.ContentLength > RumBeacon.MaxBytes ? null : await ReadAtMostAsync(request.Body, RumBeacon.MaxBytes, cancellationToken);
        if (body is null)
        {
            return ApiProblems.Problem(413, "request-too-large", "The request body is too large.",
                $"A beacon is at most {RumBeacon.MaxBytes} bytes.", "invalid_request_error", null, "request_too_large");
        }

        if (!RumBeacon.TryParse(body, out var beacon, out var error))
        {
            return ApiProblems.Problem(400, "invalid-request", "The request is invalid.", error.Detail, "invalid_request_error", error.Member, error.Code);
        }

        RumTelemetry.Record(beacon);
        return TypedResults.NoContent();
    }

    private static bool IsAcceptedMediaType(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var type)
        && (type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.MediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase))
        && (StringSegment.IsNullOrEmpty(type.Charset) || type.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase));

    /// <summary>The body, or null once it passes <paramref name="max"/> bytes: a body without a length is not read to its end.</summary>
    private static async Task<byte[]?> ReadAtMostAsync(Stream body, int max, CancellationToken cancellationToken)
    {
        var buffer = new byte[max + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
        {
            length += read;
        }

        return length > max ? null : buffer[..length];
    }
}
