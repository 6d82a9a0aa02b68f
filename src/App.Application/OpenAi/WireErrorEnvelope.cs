using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

public sealed class WireErrorEnvelope
{
    [JsonPropertyName("error")]
    public WireError? Error { get; init; }
}
