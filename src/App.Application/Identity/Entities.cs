namespace App.Application.Identity;

/// <summary>A customer organisation. Every user, credential, session and (later) trace belongs to one.</summary>
public sealed class Tenant
{
    public required string Id { get; init; }

    public required string Name { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>A tenant id is 3-64 lower-case ASCII letters, digits or '-' (it appears in keys, URLs and logs).</summary>
    public static bool IsValidId(string? id) =>
        id is { Length: >= 3 and <= 64 } && id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
}

public sealed class User
{
    public Guid Id { get; init; }

    public required string TenantId { get; init; }

    /// <summary>Unique within the tenant; what the passkey ceremony shows as the account name.</summary>
    public required string UserName { get; init; }

    public required string DisplayName { get; set; }

    /// <summary>The WebAuthn user handle: random, not the id, so credentials reveal nothing about our keys.</summary>
    public required byte[] UserHandle { get; init; }

    /// <summary>Scopes granted to the user's access tokens.</summary>
    public required string Scopes { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Set when the user is disabled: every session ends and no new one starts.</summary>
    public DateTimeOffset? DisabledAt { get; set; }
}

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

/// <summary>A registered passkey (WebAuthn public key credential).</summary>
public sealed class PasskeyCredential
{
    public required byte[] Id { get; init; }

    public Guid UserId { get; init; }

    public required string TenantId { get; init; }

    public required byte[] PublicKey { get; init; }

    public long SignCount { get; set; }

    public Guid AaGuid { get; init; }

    public string? Transports { get; init; }

    public bool BackupEligible { get; init; }

    public bool BackupState { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? LastUsedAt { get; set; }
}

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

/// <summary>An ES256 signing key of the access-token issuer. The private key is stored encrypted.</summary>
public sealed class SigningKey
{
    public required string Id { get; init; }

    public required string PublicJwk { get; init; }

    /// <summary>PKCS#8 private key, AES-GCM encrypted with the key-encryption key named inside.</summary>
    public required byte[] EncryptedPrivateKey { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>After this, tokens are no longer signed with it (the next key is).</summary>
    public DateTimeOffset RetiresAt { get; set; }

    /// <summary>After this, no token signed with it can still be live: it leaves the JWKS.</summary>
    public DateTimeOffset ExpiresAt { get; set; }
}
