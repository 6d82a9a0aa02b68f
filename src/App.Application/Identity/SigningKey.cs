namespace App.Application.Identity;

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
