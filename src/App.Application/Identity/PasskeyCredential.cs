namespace App.Application.Identity;

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
