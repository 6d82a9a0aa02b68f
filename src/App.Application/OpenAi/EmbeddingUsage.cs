using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

public sealed class EmbeddingUsage
{
    [JsonPropertyName("prompt_tokens")]
    public long PromptTokens { get; set; }

    [JsonPropertyName("total_tokens")]
    public long TotalTokens { get; set; }
}
