namespace App.Application.Identity;

/// <summary>
/// An invitation to join a tenant: an administrator creates it with the scopes the new user will hold, and whoever
/// presents its code signs up into that tenant once, before it expires. Only the SHA-256 of the code is stored.
/// An operator's invitation (<c>App.Api invite</c>) may name a tenant with no users yet: it creates the tenant's
/// first administrator, which is how tenants come to exist when sign-up is invite-only.
/// </summary>
public sealed class Invitation
{
    public Guid Id { get; init; }

    public required string TenantId { get; init; }

    public required byte[] CodeHash { get; init; }

    /// <summary>Scopes the user who accepts it will hold.</summary>
    public required string Scopes { get; init; }

    /// <summary>Who created it: a user id, or "operator".</summary>
    public required string CreatedBy { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset ExpiresAt { get; init; }

    public DateTimeOffset? AcceptedAt { get; set; }

    public Guid? AcceptedBy { get; set; }
}
