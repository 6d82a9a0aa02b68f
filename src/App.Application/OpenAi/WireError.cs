using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

/// <summary>The error body OpenAI SDKs parse: <c>{"error":{"message","type","param","code"}}</c>.</summary>
public sealed class WireError
{
    [JsonPropertyName("message")]
    public required string Message { get; init; }

    [JsonPropertyName("type")]
    public required string Type { get; init; }

    [JsonPropertyName("param")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Param { get; init; }

    [JsonPropertyName("code")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Code { get; init; }
}
