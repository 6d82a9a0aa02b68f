using System.Text.Json.Serialization;

namespace App.Application.Guard;

/// <summary>The rule set file as written: its version, the threshold a score must reach to be suspected, and the rules.</summary>
public sealed class GuardRuleSet
{
    [JsonPropertyName("version")]
    public string Version { get; init; } = string.Empty;

    [JsonPropertyName("threshold")]
    public double Threshold { get; init; } = 0.5;

    [JsonPropertyName("limits")]
    public string? Limits { get; init; }

    [JsonPropertyName("rules")]
    public List<GuardRule> Rules { get; init; } = [];
}
