using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

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
