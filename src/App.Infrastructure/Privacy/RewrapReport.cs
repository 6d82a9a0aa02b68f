using System.Text.Json.Serialization;

namespace App.Infrastructure.Privacy;

/// <summary>What a re-wrap did: keys now under the active master key, those already under it, and those erased meanwhile.</summary>
public sealed record RewrapReport(
    [property: JsonPropertyName("active_key")] string ActiveKey,
    [property: JsonPropertyName("rewrapped")] int Rewrapped,
    [property: JsonPropertyName("already_active")] int AlreadyActive,
    [property: JsonPropertyName("erased_meanwhile")] int ErasedMeanwhile);
