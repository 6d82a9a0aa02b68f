namespace App.Infrastructure.Idempotency;

/// <summary>A stored answer: enough to send the same response again.</summary>
public sealed record StoredResponse(int Status, string? ContentType, string? Location, byte[] Body);
