using System.Globalization;
using System.Text.Json;
using App.Api.Problems;
using App.Application.Calls;

namespace App.Api.OpenAi;

/// <summary>
/// Errors on <c>/v1</c> raised by the gateway or found while reading a request body, shaped by
/// <see cref="ApiProblems"/> so that OpenAI SDKs read them.
/// </summary>
internal static class OpenAiErrors
{
    public static IResult From(GatewayException ex, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(ex);
        var (status, slug, title, openAiType, code) = GatewayErrors.Describe(ex.Kind);

        if (ex.Kind == GatewayErrorKind.BudgetExceeded)
        {
            // Retrying will not help before the period ends; OpenAI's SDKs honour this and stop retrying.
            context.Response.Headers["x-should-retry"] = "false";
        }

        if (ex.RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        return ApiProblems.Problem(status, slug, title, ex.Message, openAiType, ex.Param, code);
    }

    /// <summary>The body is not JSON; every JSON endpoint answers this the same way.</summary>
    public static IResult UnsupportedMediaType() =>
        ApiProblems.Problem(415, "unsupported-media-type", "Unsupported media type.",
            "Send the request body as JSON with 'Content-Type: application/json'.", "invalid_request_error", null, "unsupported_media_type");

    public static IResult InvalidJson(JsonException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        var param = ex.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null;
        string detail;
        string code;
        if (ApiProblems.DuplicateMember(ex.Message) is { } duplicate)
        {
            // Last-wins would let this gateway check one value while the upstream acts on another.
            param = param is null ? duplicate : param.EndsWith(duplicate, StringComparison.Ordinal) ? param : $"{param}.{duplicate}";
            detail = $"The member '{param}' appears more than once. Send each member once.";
            code = "duplicate_member";
        }
        else if (ex.InnerException is InvalidOperationException invalidText && invalidText.Message.Contains("UTF-", StringComparison.Ordinal))
        {
            detail = invalidText.Message.Contains("UTF-8", StringComparison.Ordinal)
                ? $"Invalid value for '{param ?? "the body"}': the bytes are not valid UTF-8."
                : $"Invalid value for '{param ?? "the body"}': the string holds a lone surrogate escape (such as \\ud800 without its pair), which is not valid Unicode.";
            code = "invalid_unicode";
        }
        else if (ex.Message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
        {
            detail = $"Unrecognized request argument supplied: '{param}'. Unknown members are rejected, not ignored.";
            code = "unknown_parameter";
        }
        else if (ex.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal) && param is not null)
        {
            detail = $"Invalid type for '{param}': expected {Expected(param)}.";
            code = "invalid_type";
        }
        else if (param is not null && ex.InnerException is null && !ex.Message.StartsWith('\'') && ex.Message.Length < 200 && !ex.Message.Contains("Path:", StringComparison.Ordinal))
        {
            detail = $"Invalid value for '{param}': {ex.Message}";
            code = "invalid_type";
        }
        else if (ex.BytePositionInLine is not null)
        {
            detail = string.Create(CultureInfo.InvariantCulture, $"The request body is not valid JSON (line {ex.LineNumber + 1}, position {ex.BytePositionInLine + 1}).");
            code = "invalid_json";
            param = null;
        }
        else
        {
            detail = "The request body could not be read as a chat completion request.";
            code = "invalid_json";
        }

        return ApiProblems.Problem(400, "invalid-request", "The request is invalid.", detail, "invalid_request_error", param, code);
    }

    private static string Expected(string param)
    {
        var name = param[(param.LastIndexOf('.') + 1)..];
        var bracket = name.IndexOf('[', StringComparison.Ordinal);
        if (bracket >= 0)
        {
            name = name[..bracket];
        }

        return name switch
        {
            "temperature" or "top_p" or "presence_penalty" or "frequency_penalty" => "a number",
            "max_tokens" or "max_completion_tokens" or "n" or "seed" => "an integer",
            "stream" or "include_usage" or "strict" => "a boolean",
            "messages" => "an array of message objects",
            "stop" => "a string or an array of strings",
            "content" => "a string or an array of text parts",
            "response_format" or "stream_options" or "json_schema" or "schema" => "an object",
            _ => "a string",
        };
    }
}
