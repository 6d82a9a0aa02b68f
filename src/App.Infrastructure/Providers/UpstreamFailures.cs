using System.Globalization;
using System.Text.Json;
using App.Application.Gateway;
using App.Application.Privacy;

namespace App.Infrastructure.Providers;

/// <summary>Turns an upstream's error response into an <see cref="UpstreamException"/> of the kind the resilience pipeline acts on.</summary>
internal static class UpstreamFailures
{
    private const int MaxErrorBodyBytes = 8 * 1024;

    /// <summary>The failure an unsuccessful response stands for, with the upstream's message and when to retry.</summary>
    public static async Task<UpstreamException> FromResponseAsync(HttpResponseMessage response, TimeProvider time, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        string? message = null;
        try
        {
            var buffer = new byte[MaxErrorBodyBytes];
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var read = await body.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            message = JsonSerializer.Deserialize(buffer.AsSpan(0, read), UpstreamWire.Error)?.Error?.Message;
        }
        catch (Exception ex) when (ex is JsonException or IOException or HttpRequestException)
        {
            // the status code says enough
        }

        // The upstream's words reach logs and spans through the exception: secrets and personal data it echoes are redacted.
        message = message is null ? $"HTTP {status}" : $"HTTP {status}: {Redactor.Redact(Truncate(message, 300)).Text}";
        var kind = status switch
        {
            429 => UpstreamFailureKind.RateLimited,
            // A redirect is not followed (see ModelRoutes): the base URL is wrong, and retrying will not fix it.
            401 or 403 or 404 or (>= 300 and < 400) => UpstreamFailureKind.Misconfigured,
            408 => UpstreamFailureKind.Timeout,
            400 or 409 or 413 or 422 => UpstreamFailureKind.BadRequest,
            >= 500 => UpstreamFailureKind.ServerError,
            _ => UpstreamFailureKind.ServerError,
        };
        return new UpstreamException(kind, message, status, RetryAfter(response, time));
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider time)
    {
        // OpenAI sends retry-after-ms beside the standard header; it is the more precise of the two.
        if (response.Headers.TryGetValues("retry-after-ms", out var ms)
            && double.TryParse(ms.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var millis) && millis >= 0)
        {
            return TimeSpan.FromMilliseconds(millis);
        }

        return response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - time.GetUtcNow() is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
            _ => null,
        };
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + "...";
}
