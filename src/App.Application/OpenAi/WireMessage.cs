using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

public sealed class WireMessage
{
    [JsonPropertyName("role")]
    public string? Role { get; set; }

    /// <summary>Either a string or an array of text parts; both are read into one string.</summary>
    [JsonPropertyName("content")]
    [JsonConverter(typeof(MessageContentConverter))]
    public string? Content { get; set; }

    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("refusal")]
    public string? Refusal { get; set; }
}
