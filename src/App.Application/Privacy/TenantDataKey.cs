namespace App.Application.Privacy;

/// <summary>
/// A tenant's data key: what its stored content is encrypted with. Deleting every key of a tenant makes all its
/// stored content unreadable at once (crypto-shredding). The key is stored wrapped by the master key ring.
/// </summary>
public sealed class TenantDataKey
{
    public required string TenantId { get; init; }

    public Guid Id { get; init; }

    /// <summary>The 256-bit key, AES-GCM encrypted with the master key named inside, bound to this tenant and id.</summary>
    public required byte[] WrappedKey { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
}
