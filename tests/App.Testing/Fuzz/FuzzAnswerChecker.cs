using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace App.Testing.Fuzz;

/// <summary>
/// The verdict on one answer to a fuzzed request: no 5xx (but a declared 503 with <c>Retry-After</c>), nothing internal
/// in the body, a problem details body on every error (OpenAI-shaped under <c>/v1</c>), and only declared statuses.
/// </summary>
public static partial class FuzzAnswerChecker
{
    /// <summary>Kestrel's default limit on the request line (KestrelServerLimits.MaxRequestLineSize).</summary>
    private const int MaxRequestLine = 8 * 1024;

    private static readonly (string What, Regex Pattern)[] Leaks =
    [
        ("a stack frame", StackFrame()),
        ("a source location", SourceLocation()),
        ("an exception type", ExceptionType()),
        ("a .NET type name", QualifiedTypeName()),
        ("a file path", FilePath()),
        ("SQL or a database error", DatabaseText()),
        ("a connection string", ConnectionString()),
        ("a handler's parameter", HandlerParameter()),
    ];

    /// <summary>Every rule the answer breaks, each as a sentence; empty when it breaks none.</summary>
    public static IReadOnlyList<string> Check(ApiOperation operation, FuzzAnswer answer)
    {
        ArgumentNullException.ThrowIfNull(operation);
        ArgumentNullException.ThrowIfNull(answer);
        var problems = new List<string>();
        if (RefusedByTheHttpParser(answer))
        {
            return problems;
        }

        if (answer.Status >= 500 && !(answer.Status == 503 && answer.RetryAfter && operation.Declares(503)))
        {
            problems.Add($"status {answer.Status} is a server error");
        }

        if (!operation.Declares(answer.Status))
        {
            problems.Add($"status {answer.Status} is not declared (declared: {string.Join(", ", operation.Statuses.Order(StringComparer.Ordinal))})");
        }

        var json = TryParse(answer.Body);
        if (answer.Status >= 400)
        {
            CheckError(operation, answer, json, problems);
        }

        var text = json is null ? answer.Body : answer.Body + "\n" + string.Join("\n", Strings(json));
        foreach (var (what, pattern) in Leaks)
        {
            foreach (Match match in pattern.Matches(text))
            {
                if (!answer.Sent.Contains(match.Value.Trim(), StringComparison.Ordinal))
                {
                    problems.Add($"the body holds {what}: \"{match.Value.Trim()}\"");
                    break;
                }
            }
        }

        return problems;
    }

    /// <summary>
    /// Kestrel refuses some request targets while parsing them, before any middleware or operation runs, with an empty
    /// answer the application cannot shape: 400 for a NUL in the target, 414 for a target over its request-line limit.
    /// Only those answers, to only those targets, are let through.
    /// </summary>
    private static bool RefusedByTheHttpParser(FuzzAnswer answer) => answer is { MediaType: null, Body.Length: 0 } && answer.Status switch
    {
        400 => answer.Target.Contains("%00", StringComparison.Ordinal),
        414 => answer.Target.Length > MaxRequestLine,
        _ => false,
    };

    private static void CheckError(ApiOperation operation, FuzzAnswer answer, JsonNode? json, List<string> problems)
    {
        if (!string.Equals(answer.MediaType, "application/problem+json", StringComparison.OrdinalIgnoreCase))
        {
            problems.Add($"error {answer.Status} is '{answer.MediaType ?? "no content type"}', not application/problem+json");
        }

        if (json is not JsonObject problem)
        {
            problems.Add($"error {answer.Status} has no JSON object for a body");
            return;
        }

        if (problem["status"] is JsonValue status && (status.TryGetValue<int>(out var value) ? value : -1) != answer.Status)
        {
            problems.Add($"error {answer.Status} says status {status.ToJsonString()} in its body");
        }

        if (operation.Path.StartsWith("/v1/", StringComparison.Ordinal)
            && (problem["error"] is not JsonObject error || error["message"] is not JsonValue || error["type"] is not JsonValue))
        {
            problems.Add($"error {answer.Status} under /v1 has no OpenAI 'error' member with a message and a type");
        }
    }

    private static JsonNode? TryParse(string body)
    {
        try
        {
            return JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Every member name and string value, unescaped, so an escaped leak is seen as the reader would see it.</summary>
    private static IEnumerable<string> Strings(JsonNode node) => node switch
    {
        JsonObject o => o.SelectMany(p => new[] { p.Key }.Concat(p.Value is null ? [] : Strings(p.Value))),
        JsonArray a => a.SelectMany(e => e is null ? [] : Strings(e)),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => [v.GetValue<string>()],
        _ => [],
    };

    /// <summary>Shortens a body for a failure message, escaping what a terminal would not show.</summary>
    public static string Excerpt(string text, int length = 300)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder();
        foreach (var c in text.Take(length))
        {
            builder.Append(c is >= ' ' and <= '~' ? c.ToString() : $"\\u{(int)c:x4}");
        }

        return text.Length > length ? builder.Append($"... ({text.Length} chars)").ToString() : builder.ToString();
    }

    // Each namespace written with its dot ("App\."): the form a solution made from the template renames.
    [GeneratedRegex(@"\bat (?:App\.|System\.|Microsoft\.|Npgsql\.|StackExchange\.|Polly\.|Serilog\.)[\w.`<>$|]+|--- End of (?:inner exception )?stack trace")]
    private static partial Regex StackFrame();

    [GeneratedRegex(@"\w+\.cs:line \d+|\.cs:\d+")]
    private static partial Regex SourceLocation();

    [GeneratedRegex(@"\b[A-Z][A-Za-z0-9]+Exception\b")]
    private static partial Regex ExceptionType();

    [GeneratedRegex(@"\b(?:System\.|Microsoft\.|App\.|Npgsql\.|StackExchange\.|Polly\.)[A-Z]\w*(?:\.[A-Z]\w*)*")]
    private static partial Regex QualifiedTypeName();

    [GeneratedRegex(@"(?<![\w.])(?:/(?:src|app|home|root|work|tmp|usr|opt|var|etc|proc)/[^\s""'\\]+|[A-Za-z]:\\[^\s""']+)")]
    private static partial Regex FilePath();

    [GeneratedRegex(@"\bSELECT\b[^\n]{0,200}?\bFROM\b|\bINSERT INTO\b|\bUPDATE\s+\S+\s+SET\b|\bDELETE FROM\b|SQLSTATE|syntax error at or near|violates (?:unique|foreign key|check|not-null) constraint|relation ""[^""]+"" does not exist|\b(?:22|23|40|42|53|57)[0-9A-Z]{3}: ")]
    private static partial Regex DatabaseText();

    [GeneratedRegex(@"(?i)\b(?:host|server|password|pwd|user id|username|uid|search path)\s*=\s*[^;""\s]+\s*;|\b(?:postgres(?:ql)?|redis|rediss)://\S+|\babortConnect=")]
    private static partial Regex ConnectionString();

    // The framework's binding messages name the handler's parameters and their types.
    [GeneratedRegex(@"(?:Failed to (?:read|bind) parameter|Required parameter|Implicit body inferred for parameter) ""[^""]*""")]
    private static partial Regex HandlerParameter();
}
