namespace App.Infrastructure.Privacy;

/// <summary>A tenant's data key, unwrapped: its id (recorded with every ciphertext) and the 256-bit key.</summary>
public sealed record DataKey(Guid Id, byte[] Material);
