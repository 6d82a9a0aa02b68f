using System.Text.Json;
using App.Api.Problems;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;

namespace App.Api.Hosting;

/// <summary>Oversized or unreadable bodies are the client's fault: a 4xx problem, never a 500.</summary>
internal sealed class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad)
        {
            return false;
        }

        httpContext.Response.StatusCode = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = bad.StatusCode,
                Type = ApiProblems.ProblemBase + (bad.StatusCode == 413 ? "request-too-large" : "bad-request"),
                Title = bad.StatusCode == 413 ? "The request body is too large." : "The request could not be read.",
                Detail = bad.StatusCode == 413
                    ? $"The request body exceeds the limit of {httpContext.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize} bytes."
                    : bad.InnerException is JsonException json && ApiProblems.DuplicateMember(json.Message) is { } duplicate
                        ? $"The member '{duplicate}' appears more than once. Send each member once."
                        : bad.Message,
            },
        });
    }
}
