using System.Globalization;
using App.Api.Problems;
using App.Infrastructure.Persistence;
using Microsoft.AspNetCore.Diagnostics;

namespace App.Api.Hosting;

/// <summary>
/// A database that does not answer in time (stalled, restarting, out of connections) is a 503 with
/// <c>Retry-After</c>, never a 500: every write is one transaction, so nothing is left half-written.
/// Counted and logged once per interval by <see cref="DatabaseOutage"/>, not once per request.
/// </summary>
internal sealed class DatabaseUnavailableHandler(IProblemDetailsService problems, DatabaseOutage outage) : IExceptionHandler
{
    public const string RetryAfterSeconds = "2";

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!DatabaseOutage.IsUnavailable(exception) || httpContext.Response.HasStarted)
        {
            return false;
        }

        outage.Record(exception);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Type = ApiProblems.ProblemBase + "database-unavailable",
                Title = "The database is unavailable.",
                Detail = string.Create(CultureInfo.InvariantCulture, $"The database did not answer in time. Retry in {RetryAfterSeconds} seconds (with the same Idempotency-Key, a retried write runs once)."),
            },
        });
    }
}
