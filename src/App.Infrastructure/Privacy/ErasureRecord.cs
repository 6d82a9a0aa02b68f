using System.Text.Json.Serialization;

namespace App.Infrastructure.Privacy;

/// <summary>What an erasure of a tenant's stored content did: the data keys it destroyed, the jobs whose requests and results it cleared, and when.</summary>
public sealed record ErasureRecord(
    [property: JsonPropertyName("tenant")] string Tenant,
    [property: JsonPropertyName("keys_destroyed")] int KeysDestroyed,
    [property: JsonPropertyName("jobs_erased")] int JobsErased,
    [property: JsonPropertyName("erased_at")] DateTimeOffset ErasedAt);
