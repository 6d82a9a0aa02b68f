using System.Globalization;
using System.Text.Json;
using App.Application.Calls;
using Microsoft.Extensions.AI;

namespace App.Application.OpenAi;

/// <summary>
/// Checks a parsed request against the rules the JSON types cannot express (ranges, required members, which
/// combinations make sense) and turns it into a provider-neutral <see cref="GatewayRequest"/>. Every refusal names
/// the offending member in OpenAI's <c>param</c> notation, e.g. <c>messages[2].role</c>.
/// </summary>
public static class ChatRequestMapper
{
    public const int MaxMessages = 2048;
    public const int MaxStopSequences = 4;
    public const int MaxUserLength = 256;

    /// <summary>The longest model alias: the width of the column it is stored and filtered in.</summary>
    public const int MaxModelLength = 64;

    public static GatewayRequest Map(ChatCompletionRequest request, string scope)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Model))
        {
            throw Invalid("model", "'model' is required.");
        }

        if (StoredText.Problem(request.Model, MaxModelLength) is { } problem)
        {
            throw Invalid("model", problem);
        }

        if (request.Messages is null)
        {
            throw Invalid("messages", "'messages' is required.");
        }

        if (request.Messages.Count == 0)
        {
            throw Invalid("messages", "'messages' must contain at least one message.");
        }

        if (request.Messages.Count > MaxMessages)
        {
            throw Invalid("messages", $"'messages' may contain at most {MaxMessages} messages.");
        }

        var messages = new List<ChatMessage>(request.Messages.Count);
        for (var i = 0; i < request.Messages.Count; i++)
        {
            messages.Add(MapMessage(request.Messages[i], i));
        }

        var options = new ChatOptions();
        if (request.Temperature is { } t)
        {
            Range("temperature", t, 0, 2);
            options.Temperature = (float)t;
        }

        if (request.TopP is { } p)
        {
            Range("top_p", p, 0, 1);
            options.TopP = (float)p;
        }

        if (request.PresencePenalty is { } pp)
        {
            Range("presence_penalty", pp, -2, 2);
            options.PresencePenalty = (float)pp;
        }

        if (request.FrequencyPenalty is { } fp)
        {
            Range("frequency_penalty", fp, -2, 2);
            options.FrequencyPenalty = (float)fp;
        }

        if (request.MaxTokens is not null && request.MaxCompletionTokens is not null && request.MaxTokens != request.MaxCompletionTokens)
        {
            throw Invalid("max_tokens", "'max_tokens' and 'max_completion_tokens' are the same setting; send one of them.");
        }

        if ((request.MaxCompletionTokens ?? request.MaxTokens) is { } max)
        {
            if (max < 1)
            {
                throw Invalid(request.MaxCompletionTokens is null ? "max_tokens" : "max_completion_tokens", "must be at least 1.");
            }

            options.MaxOutputTokens = max;
        }

        if (request.Seed is { } seed)
        {
            options.Seed = seed;
        }

        if (request.N is { } n && n != 1)
        {
            throw Invalid("n", "only n = 1 is supported.");
        }

        if (request.Stop is { } stop)
        {
            if (stop.Count > MaxStopSequences)
            {
                throw Invalid("stop", $"at most {MaxStopSequences} stop sequences are allowed.");
            }

            if (stop.Any(string.IsNullOrEmpty))
            {
                throw Invalid("stop", "stop sequences must not be empty.");
            }

            if (stop.Count > 0)
            {
                options.StopSequences = stop;
            }
        }

        options.ResponseFormat = MapResponseFormat(request.ResponseFormat, options);

        if (request.StreamOptions is not null && request.Stream != true)
        {
            throw Invalid("stream_options", "'stream_options' is only allowed when 'stream' is true.");
        }

        if (request.User is { Length: > MaxUserLength })
        {
            throw Invalid("user", $"'user' may be at most {MaxUserLength} characters.");
        }

        return new GatewayRequest(request.Model, messages, options, scope, request.User);
    }

    private static ChatMessage MapMessage(WireMessage? message, int index)
    {
        var at = string.Create(CultureInfo.InvariantCulture, $"messages[{index}]");
        if (message is null)
        {
            throw Invalid(at, "a message must be an object.");
        }

        var role = message.Role switch
        {
            "system" or "developer" => ChatRole.System,
            "user" => ChatRole.User,
            "assistant" => ChatRole.Assistant,
            null => throw Invalid($"{at}.role", "'role' is required."),
            "tool" or "function" => throw Invalid($"{at}.role", $"Role '{message.Role}' is not supported: this gateway does not forward tool calls."),
            _ => throw Invalid($"{at}.role", $"Role '{message.Role}' is unknown; use system, developer, user or assistant."),
        };

        if (message.Content is null)
        {
            throw Invalid($"{at}.content", "'content' is required.");
        }

        if (message.Name is { } name && (name.Length is 0 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-')))
        {
            throw Invalid($"{at}.name", "'name' must be 1-64 letters, digits, '_' or '-'.");
        }

        return new ChatMessage(role, message.Content) { AuthorName = message.Name };
    }

    private static ChatResponseFormat? MapResponseFormat(WireResponseFormat? format, ChatOptions options)
    {
        if (format is null)
        {
            return null;
        }

        switch (format.Type)
        {
            case "text":
                if (format.JsonSchema is not null)
                {
                    throw Invalid("response_format.json_schema", "'json_schema' is only allowed with type 'json_schema'.");
                }

                return ChatResponseFormat.Text;
            case "json_object":
                if (format.JsonSchema is not null)
                {
                    throw Invalid("response_format.json_schema", "'json_schema' is only allowed with type 'json_schema'.");
                }

                return ChatResponseFormat.Json;
            case "json_schema":
                var js = format.JsonSchema ?? throw Invalid("response_format.json_schema", "'json_schema' is required with type 'json_schema'.");
                if (string.IsNullOrEmpty(js.Name) || js.Name.Length > 64 || !js.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
                {
                    throw Invalid("response_format.json_schema.name", "'name' is required: 1-64 letters, digits, '_' or '-'.");
                }

                if (js.Schema is not { ValueKind: JsonValueKind.Object } schema)
                {
                    throw Invalid("response_format.json_schema.schema", "'schema' must be a JSON Schema object.");
                }

                if (js.Strict is { } strict)
                {
                    (options.AdditionalProperties ??= [])["strict"] = strict;
                }

                return ChatResponseFormat.ForJsonSchema(schema.Clone(), js.Name, js.Description);
            case null:
                throw Invalid("response_format.type", "'type' is required.");
            default:
                throw Invalid("response_format.type", $"type '{format.Type}' is unknown; use text, json_object or json_schema.");
        }
    }

    private static void Range(string param, double value, double min, double max)
    {
        if (double.IsNaN(value) || value < min || value > max)
        {
            throw Invalid(param, string.Create(CultureInfo.InvariantCulture, $"'{param}' must be between {min} and {max}."));
        }
    }

    // Messages that start lower-case read as a continuation of the member's name.
    private static GatewayException Invalid(string param, string message) =>
        new(GatewayErrorKind.InvalidRequest, char.IsLower(message[0]) ? $"'{param}' {message}" : message, param);
}
