using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

/// <summary>
/// Reading what upstreams send back is lenient: providers add members (logprobs, service_tier...) that we
/// neither need nor should fail on.
/// </summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(WireErrorEnvelope))]
[JsonSerializable(typeof(EmbeddingList))]
public sealed partial class UpstreamJsonContext : JsonSerializerContext;
