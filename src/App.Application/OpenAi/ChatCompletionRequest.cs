using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

/// <summary>
/// The OpenAI chat-completions wire format: what clients send us, and what we send to OpenAI-compatible upstreams.
/// </summary>
public sealed class ChatCompletionRequest
{
    [JsonPropertyName("model")]
    public string? Model { get; set; }

    [JsonPropertyName("messages")]
    public List<WireMessage>? Messages { get; set; }

    [JsonPropertyName("temperature")]
    public double? Temperature { get; set; }

    [JsonPropertyName("top_p")]
    public double? TopP { get; set; }

    [JsonPropertyName("max_tokens")]
    public int? MaxTokens { get; set; }

    [JsonPropertyName("max_completion_tokens")]
    public int? MaxCompletionTokens { get; set; }

    [JsonPropertyName("seed")]
    public long? Seed { get; set; }

    [JsonPropertyName("stop")]
    [JsonConverter(typeof(StringOrArrayConverter))]
    public List<string>? Stop { get; set; }

    [JsonPropertyName("presence_penalty")]
    public double? PresencePenalty { get; set; }

    [JsonPropertyName("frequency_penalty")]
    public double? FrequencyPenalty { get; set; }

    [JsonPropertyName("n")]
    public int? N { get; set; }

    [JsonPropertyName("response_format")]
    public WireResponseFormat? ResponseFormat { get; set; }

    [JsonPropertyName("stream")]
    public bool? Stream { get; set; }

    [JsonPropertyName("stream_options")]
    public WireStreamOptions? StreamOptions { get; set; }

    [JsonPropertyName("user")]
    public string? User { get; set; }
}
