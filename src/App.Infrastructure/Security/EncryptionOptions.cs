namespace App.Infrastructure.Security;

/// <summary>
/// <c>Encryption</c>: the key-encryption keys (KEKs) that protect secrets at rest (signing keys, and the data keys trace
/// content is encrypted with). Keys are versioned by id; new data uses <see cref="ActiveKey"/>, old data stays readable as
/// long as its key is listed, so a rotation never rewrites old rows.
/// </summary>
public sealed class EncryptionOptions
{
    public const string Section = "Encryption";

    /// <summary>Key id to base64 of 32 random bytes (AES-256). Set them from a secret store, never from a file.</summary>
    public Dictionary<string, string> Keys { get; init; } = new(StringComparer.Ordinal);

    public string? ActiveKey { get; init; }

    /// <summary>
    /// How long an instance holds a tenant's data key unwrapped: an erasure made on another instance takes hold here
    /// within this time.
    /// </summary>
    public TimeSpan DataKeyCache { get; init; } = TimeSpan.FromMinutes(1);
}
