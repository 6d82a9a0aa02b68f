using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

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
