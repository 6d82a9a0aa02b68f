using System.Text.Json.Serialization;

namespace App.Application.Jobs;

public sealed record JobError(
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("message")] string? Message);
