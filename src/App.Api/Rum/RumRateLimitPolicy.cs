using System.Globalization;
using System.Threading.RateLimiting;
using App.Api.Problems;
using Microsoft.AspNetCore.RateLimiting;

namespace App.Api.Rum;

/// <summary>
/// A fixed window of beacons per minute and client address, in this instance's memory: losing a few beacons to a
/// restart or to another instance counting apart costs nothing, so a shared store would be spent on nothing.
/// A refused beacon is answered before it is read, and so records nothing.
/// </summary>
internal sealed class RumRateLimitPolicy(int permitsPerMinute) : IRateLimiterPolicy<string>
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected { get; } = RejectAsync;

    public RateLimitPartition<string> GetPartition(HttpContext httpContext) =>
        RateLimitPartition.GetFixedWindowLimiter(
            httpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown",
            _ => new FixedWindowRateLimiterOptions { PermitLimit = permitsPerMinute, Window = Window, QueueLimit = 0 });

    private static async ValueTask RejectAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var wait = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : Window;
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await ApiProblems.Problem(429, "rate-limited", "Too many beacons.",
            string.Create(CultureInfo.InvariantCulture, $"This client address sent more beacons than the limit per minute; retry in {seconds} s."),
            "rate_limit_error", null, "rate_limit_exceeded").ExecuteAsync(context.HttpContext);
    }
}
