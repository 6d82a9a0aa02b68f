using System.Text.Json.Serialization;

namespace App.Application.Prompts;

/// <summary>A template file: <c>prompts/&lt;name&gt;/v&lt;n&gt;.json</c>.</summary>
public sealed class PromptDefinition
{
    [JsonPropertyName("description")]
    public string Description { get; init; } = string.Empty;

    /// <summary>The model alias it runs on.</summary>
    [JsonPropertyName("model")]
    public string Model { get; init; } = string.Empty;

    [JsonPropertyName("temperature")]
    public float? Temperature { get; init; }

    [JsonPropertyName("seed")]
    public long? Seed { get; init; }

    [JsonPropertyName("max_tokens")]
    public int? MaxTokens { get; init; }

    [JsonPropertyName("system")]
    public string? System { get; init; }

    /// <summary>The user message, with <c>{{name}}</c> placeholders for the input's top-level properties.</summary>
    [JsonPropertyName("template")]
    public string Template { get; init; } = string.Empty;
}
