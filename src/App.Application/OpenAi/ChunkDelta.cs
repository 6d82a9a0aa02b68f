using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

public sealed class ChunkDelta
{
    [JsonPropertyName("role")]
    public string? Role { get; set; }

    [JsonPropertyName("content")]
    public string? Content { get; set; }
}
