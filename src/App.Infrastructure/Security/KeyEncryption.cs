using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Security;

/// <summary>
/// AES-256-GCM with a versioned key ring. Layout: <c>[1: format=1][1: id length][id][12: nonce][16: tag][ciphertext]</c>.
/// The associated data binds a ciphertext to its place (e.g. <c>signing-key:{kid}</c>), so a blob copied to
/// another row does not decrypt.
/// </summary>
public sealed class KeyEncryption
{
    private const byte Format = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly Dictionary<string, byte[]> _keys;
    private readonly string _active;

    public KeyEncryption(IOptions<EncryptionOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _keys = options.Value.Keys.ToDictionary(kv => kv.Key, kv => Convert.FromBase64String(kv.Value), StringComparer.Ordinal);
        _active = options.Value.ActiveKey ?? throw new InvalidOperationException("Encryption:ActiveKey is required.");
    }

    public string ActiveKey => _active;

    public byte[] Encrypt(ReadOnlySpan<byte> plaintext, string associatedData)
    {
        var id = Encoding.ASCII.GetBytes(_active);
        var output = new byte[2 + id.Length + NonceSize + TagSize + plaintext.Length];
        output[0] = Format;
        output[1] = (byte)id.Length;
        id.CopyTo(output, 2);
        var nonce = output.AsSpan(2 + id.Length, NonceSize);
        var tag = output.AsSpan(2 + id.Length + NonceSize, TagSize);
        var cipher = output.AsSpan(2 + id.Length + NonceSize + TagSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_keys[_active], TagSize);
        aes.Encrypt(nonce, plaintext, cipher, tag, Encoding.UTF8.GetBytes(associatedData));
        return output;
    }

    /// <summary>A key for another purpose (a MAC, say), derived from a key-encryption key with HKDF.</summary>
    public byte[] DeriveKey(string purpose, string keyId) =>
        _keys.TryGetValue(keyId, out var key)
            ? HKDF.DeriveKey(HashAlgorithmName.SHA256, key, 32, info: Encoding.UTF8.GetBytes(purpose))
            : throw new CryptographicException($"Encryption key '{keyId}' is not configured (Encryption:Keys:{keyId}).");

    /// <summary>The id of the key a blob of this format was encrypted with, or null when it is not one.</summary>
    public static string? KeyIdOf(ReadOnlySpan<byte> blob) =>
        blob.Length >= 2 && blob[0] == Format && blob.Length >= 2 + blob[1] ? Encoding.ASCII.GetString(blob.Slice(2, blob[1])) : null;

    /// <exception cref="CryptographicException">Unknown key, wrong associated data, or tampered data.</exception>
    public byte[] Decrypt(ReadOnlySpan<byte> blob, string associatedData)
    {
        if (blob.Length < 2 || blob[0] != Format || blob.Length < 2 + blob[1] + NonceSize + TagSize)
        {
            throw new CryptographicException("Not an encrypted blob of a known format.");
        }

        var id = KeyIdOf(blob)!;
        if (!_keys.TryGetValue(id, out var key))
        {
            throw new CryptographicException($"Encryption key '{id}' is not configured (Encryption:Keys:{id}).");
        }

        var offset = 2 + blob[1];
        var nonce = blob.Slice(offset, NonceSize);
        var tag = blob.Slice(offset + NonceSize, TagSize);
        var cipher = blob[(offset + NonceSize + TagSize)..];
        var plaintext = new byte[cipher.Length];
        using var aes = new AesGcm(key, TagSize);
        aes.Decrypt(nonce, cipher, tag, plaintext, Encoding.UTF8.GetBytes(associatedData));
        return plaintext;
    }
}
