using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

public sealed class ModelList
{
    [JsonPropertyName("object")]
    public string Object { get; init; } = "list";

    [JsonPropertyName("data")]
    public required List<ModelEntry> Data { get; init; }
}
