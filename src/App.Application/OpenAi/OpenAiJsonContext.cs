using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

/// <summary>
/// Unknown members are rejected (JsonUnmappedMemberHandling.Disallow) so nothing a client sends is silently dropped
/// or silently forwarded; see docs/api.md.
/// </summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    AllowOutOfOrderMetadataProperties = true)]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(WireErrorEnvelope))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(EmbeddingsRequest))]
[JsonSerializable(typeof(EmbeddingList))]
public sealed partial class OpenAiJsonContext : JsonSerializerContext;
