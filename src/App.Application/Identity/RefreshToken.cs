namespace App.Application.Identity;

/// <summary>
/// One refresh token of a session. Tokens of a session form a family: each use consumes the token and issues its
/// successor; presenting a consumed token again (outside a short grace window) revokes the whole family.
/// Only the SHA-256 of the token is stored.
/// </summary>
public sealed class RefreshToken
{
    public Guid Id { get; init; }

    public Guid FamilyId { get; init; }

    public Guid UserId { get; init; }

    public required string TenantId { get; init; }

    public required byte[] TokenHash { get; init; }

    public required string Scopes { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The family's absolute end: rotation never extends a session past it.</summary>
    public DateTimeOffset FamilyExpiresAt { get; init; }

    public DateTimeOffset? ConsumedAt { get; set; }

    public Guid? ReplacedBy { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }

    public string? RevokedReason { get; set; }
}
