using System.Text.Json.Serialization;

namespace App.Application.Guard;

/// <summary>One weighted pattern of the rule set.</summary>
public sealed class GuardRule
{
    [JsonPropertyName("id")]
    public string Id { get; init; } = string.Empty;

    [JsonPropertyName("pattern")]
    public string Pattern { get; init; } = string.Empty;

    [JsonPropertyName("weight")]
    public double Weight { get; init; }

    [JsonPropertyName("description")]
    public string? Description { get; init; }
}
