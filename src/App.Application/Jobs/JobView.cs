using System.Text.Json.Serialization;

namespace App.Application.Jobs;

/// <summary>A job as clients see it. Members without a value (not started, no error, no results yet) are left out.</summary>
public sealed record JobView(
    [property: JsonPropertyName("id")] Guid Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("started_at")] DateTimeOffset? StartedAt,
    [property: JsonPropertyName("completed_at")] DateTimeOffset? CompletedAt,
    [property: JsonPropertyName("attempts")] int Attempts,
    [property: JsonPropertyName("max_attempts")] int MaxAttempts,
    [property: JsonPropertyName("next_attempt_at")] DateTimeOffset? NextAttemptAt,
    [property: JsonPropertyName("progress")] JobProgress Progress,
    [property: JsonPropertyName("error")] JobError? Error,
    [property: JsonPropertyName("results")] IReadOnlyList<JobItemResult>? Results);
