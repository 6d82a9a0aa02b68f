using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

/// <summary>One vector of an <see cref="EmbeddingList"/>, at the index of its input item.</summary>
public sealed class EmbeddingData
{
    [JsonPropertyName("object")]
    public string Object { get; set; } = "embedding";

    [JsonPropertyName("index")]
    public int Index { get; set; }

    [JsonPropertyName("embedding")]
    public EmbeddingVector Embedding { get; set; } = new([], false);
}
