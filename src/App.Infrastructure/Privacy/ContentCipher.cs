using System.Security.Cryptography;
using System.Text;

namespace App.Infrastructure.Privacy;

/// <summary>
/// Stored content under a tenant's data key, AES-256-GCM. Layout: <c>[1: format=2][16: data key id][12: nonce][16: tag][ciphertext]</c>.
/// The key id travels with the ciphertext so a reader finds the key, and a key that no longer exists means erased.
/// Format 1 is the master key ring's own (<see cref="Security.KeyEncryption"/>), written before data keys existed.
/// </summary>
public static class ContentCipher
{
    public const byte Format = 2;
    private const int IdSize = 16;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int Header = 1 + IdSize + NonceSize + TagSize;

    public static byte[] Seal(DataKey key, ReadOnlySpan<byte> plaintext, string associatedData)
    {
        ArgumentNullException.ThrowIfNull(key);
        var output = new byte[Header + plaintext.Length];
        output[0] = Format;
        key.Id.TryWriteBytes(output.AsSpan(1, IdSize));
        var nonce = output.AsSpan(1 + IdSize, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key.Material, TagSize);
        aes.Encrypt(nonce, plaintext, output.AsSpan(Header), output.AsSpan(1 + IdSize + NonceSize, TagSize), Encoding.UTF8.GetBytes(associatedData));
        return output;
    }

    /// <summary>The data key a blob was sealed with, or null when it is not a blob of this format.</summary>
    public static Guid? KeyIdOf(ReadOnlySpan<byte> blob) =>
        blob.Length >= Header && blob[0] == Format ? new Guid(blob.Slice(1, IdSize)) : null;

    /// <exception cref="CryptographicException">Another key, wrong associated data, or tampered data.</exception>
    public static byte[] Open(ReadOnlySpan<byte> key, ReadOnlySpan<byte> blob, string associatedData)
    {
        if (KeyIdOf(blob) is null)
        {
            throw new CryptographicException("Not a blob sealed with a data key.");
        }

        var plaintext = new byte[blob.Length - Header];
        using var aes = new AesGcm(key, TagSize);
        aes.Decrypt(blob.Slice(1 + IdSize, NonceSize), blob[Header..], blob.Slice(1 + IdSize + NonceSize, TagSize), plaintext, Encoding.UTF8.GetBytes(associatedData));
        return plaintext;
    }
}
