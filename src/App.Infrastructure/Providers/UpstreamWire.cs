using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using App.Application.OpenAi;

namespace App.Infrastructure.Providers;

/// <summary>
/// How upstream responses are read: the gateway's own wire types with every member optional, since upstreams add and
/// omit members freely and reading them must not fail on that.
/// </summary>
internal static class UpstreamWire
{
    private static readonly JsonSerializerOptions Lenient = new()
    {
        TypeInfoResolver = UpstreamJsonContext.Default.WithAddedModifier(static info =>
        {
            foreach (var property in info.Properties)
            {
                property.IsRequired = false;
            }
        }),
    };

    public static readonly JsonTypeInfo<ChatCompletion> Completion = (JsonTypeInfo<ChatCompletion>)Lenient.GetTypeInfo(typeof(ChatCompletion));
    public static readonly JsonTypeInfo<ChatCompletionChunk> Chunk = (JsonTypeInfo<ChatCompletionChunk>)Lenient.GetTypeInfo(typeof(ChatCompletionChunk));
    public static readonly JsonTypeInfo<EmbeddingList> Embeddings = (JsonTypeInfo<EmbeddingList>)Lenient.GetTypeInfo(typeof(EmbeddingList));
    public static readonly JsonTypeInfo<WireErrorEnvelope> Error = (JsonTypeInfo<WireErrorEnvelope>)Lenient.GetTypeInfo(typeof(WireErrorEnvelope));

    /// <summary>The message of an OpenAI error body, or null when the data is not one.</summary>
    public static string? TryReadError(ReadOnlySpan<char> data)
    {
        try
        {
            return JsonSerializer.Deserialize(data, Error)?.Error?.Message;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
