using System.Text.Json;
using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

/// <summary>The OpenAI embeddings wire format: what clients send to <c>POST /v1/embeddings</c>.</summary>
public sealed class EmbeddingsRequest
{
    [JsonPropertyName("model")]
    public string? Model { get; set; }

    /// <summary>A string, an array of strings, an array of token ids, or an array of token-id arrays; read by <see cref="EmbeddingRequestMapper"/>.</summary>
    [JsonPropertyName("input")]
    public JsonElement? Input { get; set; }

    /// <summary><c>float</c> (the default) or <c>base64</c> (little-endian float32, as OpenAI sends it).</summary>
    [JsonPropertyName("encoding_format")]
    public string? EncodingFormat { get; set; }

    [JsonPropertyName("dimensions")]
    public int? Dimensions { get; set; }

    [JsonPropertyName("user")]
    public string? User { get; set; }
}
