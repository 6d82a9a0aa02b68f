using System.Text.Json.Serialization;

namespace App.Infrastructure.Audit;

/// <summary>A signed statement of a chain's head at a moment, kept where the database cannot rewrite it.</summary>
public sealed record AuditCheckpoint(
    [property: JsonPropertyName("tenant")] string Tenant,
    [property: JsonPropertyName("seq")] long Sequence,
    [property: JsonPropertyName("head")] string Head,
    [property: JsonPropertyName("at")] DateTimeOffset At,
    [property: JsonPropertyName("key")] string KeyId,
    [property: JsonPropertyName("sig")] string Signature);
