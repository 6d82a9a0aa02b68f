using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

public sealed class WireResponseFormat
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("json_schema")]
    public WireJsonSchema? JsonSchema { get; set; }
}
