using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

/// <summary>The answer of <c>POST /v1/embeddings</c> (OpenAI's <c>list</c> of <c>embedding</c> objects).</summary>
public sealed class EmbeddingList
{
    [JsonPropertyName("object")]
    public string Object { get; set; } = "list";

    [JsonPropertyName("data")]
    public List<EmbeddingData> Data { get; set; } = [];

    [JsonPropertyName("model")]
    public string Model { get; set; } = string.Empty;

    [JsonPropertyName("usage")]
    public EmbeddingUsage Usage { get; set; } = new();
}
