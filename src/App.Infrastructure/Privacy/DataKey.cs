namespace App.Infrastructure.Privacy;

/// <summary>
/// A tenant's data key, unwrapped: its id (recorded with every ciphertext) and the 256-bit key; for the key new content
/// is sealed with, the time of the tenant's last erasure, before which captured content is not sealed with it.
/// </summary>
public sealed record DataKey(Guid Id, byte[] Material, DateTimeOffset? ErasedAt = null);
