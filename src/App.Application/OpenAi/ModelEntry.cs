using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

public sealed class ModelEntry
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("object")]
    public string Object { get; init; } = "model";

    [JsonPropertyName("created")]
    public long Created { get; init; }

    [JsonPropertyName("owned_by")]
    public required string OwnedBy { get; init; }
}
