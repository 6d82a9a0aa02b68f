using System.Text.Json;
using System.Text.RegularExpressions;
using App.Api.Problems;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;

namespace App.Api.Hosting;

/// <summary>Oversized or unreadable bodies are the client's fault: a 4xx problem, never a 500.</summary>
internal sealed partial class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
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
                    : Detail(bad),
            },
        });
    }

    /// <summary>
    /// What was wrong, in the API's terms: the framework's binding messages name the handler's parameters and their
    /// .NET types, which are no business of the client's, so they are told by the name the client sent instead.
    /// </summary>
    internal static string Detail(BadHttpRequestException bad)
    {
        var message = bad.Message;
        if (bad.InnerException is JsonException json)
        {
            return ApiProblems.DuplicateMember(json.Message) is { } duplicate
                ? $"The member '{duplicate}' appears more than once. Send each member once."
                : $"The request body is not valid JSON for this operation{(json.Path is { } path ? $" (at {path})" : string.Empty)}.";
        }

        var name = BoundParameter().Match(message) is { Success: true } match ? match.Groups["name"].Value : null;
        return message switch
        {
            _ when message.StartsWith("Failed to read parameter", StringComparison.Ordinal) || message.StartsWith("Implicit body inferred", StringComparison.Ordinal)
                => "The request body is missing or is not valid JSON for this operation.",
            _ when message.StartsWith("Failed to bind parameter", StringComparison.Ordinal) && name is not null => $"The value of '{name}' is not valid.",
            _ when message.StartsWith("Required parameter", StringComparison.Ordinal) && name is not null => $"'{name}' is required.",
            _ when name is not null => "The request could not be read.",
            _ => message,
        };
    }

    [GeneratedRegex(@"parameter ""(?:[^""]* )?(?<name>[^"" ]+)""")]
    private static partial Regex BoundParameter();
}
