using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

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
