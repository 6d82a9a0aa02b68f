namespace App.Application.Audit;

/// <summary>The outcome of walking a chain.</summary>
/// <param name="Ok">True when every entry is intact and linked.</param>
/// <param name="Entries">Entries checked.</param>
/// <param name="Head">The last entry's hash (hex), or null for an empty log.</param>
/// <param name="BrokenAt">The first entry that does not verify.</param>
/// <param name="Reason">Why it does not.</param>
public sealed record AuditVerification(
    [property: System.Text.Json.Serialization.JsonPropertyName("ok")] bool Ok,
    [property: System.Text.Json.Serialization.JsonPropertyName("entries")] long Entries,
    [property: System.Text.Json.Serialization.JsonPropertyName("head")] string? Head,
    [property: System.Text.Json.Serialization.JsonPropertyName("broken_at")] long? BrokenAt,
    [property: System.Text.Json.Serialization.JsonPropertyName("reason")] string? Reason);
