using System.Text.Json;
using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

// The OpenAI chat-completions wire format: what clients send us, and what we send to OpenAI-compatible upstreams.
// Unknown members are rejected (JsonUnmappedMemberHandling.Disallow on the context) so nothing a client sends is
// silently dropped or silently forwarded; see docs/api.md.

public sealed class ChatCompletionRequest
{
    [JsonPropertyName("model")]
    public string? Model { get; set; }

    [JsonPropertyName("messages")]
    public List<WireMessage>? Messages { get; set; }

    [JsonPropertyName("temperature")]
    public double? Temperature { get; set; }

    [JsonPropertyName("top_p")]
    public double? TopP { get; set; }

    [JsonPropertyName("max_tokens")]
    public int? MaxTokens { get; set; }

    [JsonPropertyName("max_completion_tokens")]
    public int? MaxCompletionTokens { get; set; }

    [JsonPropertyName("seed")]
    public long? Seed { get; set; }

    [JsonPropertyName("stop")]
    [JsonConverter(typeof(StringOrArrayConverter))]
    public List<string>? Stop { get; set; }

    [JsonPropertyName("presence_penalty")]
    public double? PresencePenalty { get; set; }

    [JsonPropertyName("frequency_penalty")]
    public double? FrequencyPenalty { get; set; }

    [JsonPropertyName("n")]
    public int? N { get; set; }

    [JsonPropertyName("response_format")]
    public WireResponseFormat? ResponseFormat { get; set; }

    [JsonPropertyName("stream")]
    public bool? Stream { get; set; }

    [JsonPropertyName("stream_options")]
    public WireStreamOptions? StreamOptions { get; set; }

    [JsonPropertyName("user")]
    public string? User { get; set; }
}

public sealed class WireMessage
{
    [JsonPropertyName("role")]
    public string? Role { get; set; }

    /// <summary>Either a string or an array of text parts; both are read into one string.</summary>
    [JsonPropertyName("content")]
    [JsonConverter(typeof(MessageContentConverter))]
    public string? Content { get; set; }

    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("refusal")]
    public string? Refusal { get; set; }
}

public sealed class WireResponseFormat
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("json_schema")]
    public WireJsonSchema? JsonSchema { get; set; }
}

public sealed class WireJsonSchema
{
    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("description")]
    public string? Description { get; set; }

    [JsonPropertyName("schema")]
    public JsonElement? Schema { get; set; }

    [JsonPropertyName("strict")]
    public bool? Strict { get; set; }
}

public sealed class WireStreamOptions
{
    [JsonPropertyName("include_usage")]
    public bool? IncludeUsage { get; set; }
}

public sealed class ChatCompletion
{
    [JsonPropertyName("id")]
    [JsonRequired]
    public string Id { get; set; } = null!;

    [JsonPropertyName("object")]
    public string Object { get; set; } = "chat.completion";

    [JsonPropertyName("created")]
    public long Created { get; set; }

    [JsonPropertyName("model")]
    [JsonRequired]
    public string Model { get; set; } = null!;

    [JsonPropertyName("choices")]
    [JsonRequired]
    public List<CompletionChoice> Choices { get; set; } = null!;

    [JsonPropertyName("usage")]
    public WireUsage? Usage { get; set; }

    [JsonPropertyName("system_fingerprint")]
    public string? SystemFingerprint { get; set; }
}

public sealed class CompletionChoice
{
    [JsonPropertyName("index")]
    public int Index { get; set; }

    [JsonPropertyName("message")]
    [JsonRequired]
    public WireMessage Message { get; set; } = null!;

    [JsonPropertyName("finish_reason")]
    public string? FinishReason { get; set; }
}

public sealed class WireUsage
{
    [JsonPropertyName("prompt_tokens")]
    public long PromptTokens { get; set; }

    [JsonPropertyName("completion_tokens")]
    public long CompletionTokens { get; set; }

    [JsonPropertyName("total_tokens")]
    public long TotalTokens { get; set; }
}

public sealed class ChatCompletionChunk
{
    [JsonPropertyName("id")]
    [JsonRequired]
    public string Id { get; set; } = null!;

    [JsonPropertyName("object")]
    public string Object { get; set; } = "chat.completion.chunk";

    [JsonPropertyName("created")]
    public long Created { get; set; }

    [JsonPropertyName("model")]
    [JsonRequired]
    public string Model { get; set; } = null!;

    [JsonPropertyName("choices")]
    [JsonRequired]
    public List<ChunkChoice> Choices { get; set; } = null!;

    [JsonPropertyName("usage")]
    public WireUsage? Usage { get; set; }
}

public sealed class ChunkChoice
{
    [JsonPropertyName("index")]
    public int Index { get; set; }

    [JsonPropertyName("delta")]
    [JsonRequired]
    public ChunkDelta Delta { get; set; } = null!;

    // Always written, null until the last chunk, as the OpenAI API does.
    [JsonPropertyName("finish_reason")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; set; }
}

public sealed class ChunkDelta
{
    [JsonPropertyName("role")]
    public string? Role { get; set; }

    [JsonPropertyName("content")]
    public string? Content { get; set; }
}

/// <summary>The error body OpenAI SDKs parse: <c>{"error":{"message","type","param","code"}}</c>.</summary>
public sealed class WireError
{
    [JsonPropertyName("message")]
    public required string Message { get; init; }

    [JsonPropertyName("type")]
    public required string Type { get; init; }

    [JsonPropertyName("param")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Param { get; init; }

    [JsonPropertyName("code")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Code { get; init; }
}

public sealed class WireErrorEnvelope
{
    [JsonPropertyName("error")]
    public WireError? Error { get; init; }
}

public sealed class ModelList
{
    [JsonPropertyName("object")]
    public string Object { get; init; } = "list";

    [JsonPropertyName("data")]
    public required List<ModelEntry> Data { get; init; }
}

public sealed class ModelEntry
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("object")]
    public string Object { get; init; } = "model";

    [JsonPropertyName("created")]
    public long Created { get; init; }

    [JsonPropertyName("owned_by")]
    public required string OwnedBy { get; init; }
}

/// <summary>
/// The serializer for the wire format. Output escapes only what JSON requires (not HTML characters): it is
/// served as application/json or text/event-stream with nosniff, never embedded in a page.
/// </summary>
public static class OpenAiJson
{
    public static readonly OpenAiJsonContext Wire = new(Options());

    /// <summary>
    /// The wire options, for this context and others of the same format (jobs). Options given to a context replace
    /// its attribute's options, so they are all restated here.
    /// </summary>
    public static JsonSerializerOptions Options() => new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowOutOfOrderMetadataProperties = true,
        AllowDuplicateProperties = false,
    };
}

[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    AllowOutOfOrderMetadataProperties = true)]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(WireErrorEnvelope))]
[JsonSerializable(typeof(ModelList))]
public sealed partial class OpenAiJsonContext : JsonSerializerContext;

/// <summary>
/// Reading what upstreams send back is lenient: providers add members (logprobs, service_tier...) that we
/// neither need nor should fail on.
/// </summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(WireErrorEnvelope))]
public sealed partial class UpstreamJsonContext : JsonSerializerContext;
