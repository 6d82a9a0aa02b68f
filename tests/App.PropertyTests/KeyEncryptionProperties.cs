using System.Security.Cryptography;
using App.Infrastructure.Security;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Options;

namespace App.PropertyTests;

public static class EncryptionGenerators
{
    public static Arbitrary<byte[]> Bytes() => Arb.From(Gen.Choose(0, 512).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), n)));
}

[Properties(Arbitrary = [typeof(EncryptionGenerators)], MaxTest = 200)]
public class KeyEncryptionProperties
{
    private static readonly KeyEncryption Old = Ring("k1", ("k1", Key(1)));
    private static readonly KeyEncryption Rotated = Ring("k2", ("k1", Key(1)), ("k2", Key(2)));

    private static string Key(byte seed) => Convert.ToBase64String(Enumerable.Range(0, 32).Select(i => (byte)(i * 7 + seed)).ToArray());

    private static KeyEncryption Ring(string active, params (string Id, string Key)[] keys) => new(Options.Create(new EncryptionOptions
    {
        ActiveKey = active,
        Keys = keys.ToDictionary(k => k.Id, k => k.Key),
    }));

    [Property]
    public bool RoundTrips(byte[] plaintext, string? context) =>
        Rotated.Decrypt(Rotated.Encrypt(plaintext, context ?? string.Empty), context ?? string.Empty).AsSpan().SequenceEqual(plaintext);

    [Property]
    public bool DataOfARotatedOutKeyStaysReadable(byte[] plaintext) =>
        Rotated.Decrypt(Old.Encrypt(plaintext, "ctx"), "ctx").AsSpan().SequenceEqual(plaintext);

    [Property]
    public bool AnyFlippedBitIsDetected(byte[] plaintext, int position, byte mask)
    {
        var blob = Rotated.Encrypt(plaintext, "ctx");
        var header = 2 + blob[1]; // format and key id are covered by the key lookup, not the tag
        var index = header + (int)((uint)position % (uint)(blob.Length - header));
        blob[index] ^= (byte)(mask | 1);
        try
        {
            Rotated.Decrypt(blob, "ctx");
            return false;
        }
        catch (CryptographicException)
        {
            return true;
        }
    }

    [Property]
    public bool AnotherContextDoesNotDecrypt(byte[] plaintext)
    {
        try
        {
            Rotated.Decrypt(Rotated.Encrypt(plaintext, "signing-key:a"), "signing-key:b");
            return false;
        }
        catch (CryptographicException)
        {
            return true;
        }
    }

    [Property]
    public bool SamePlaintextNeverGivesTheSameCiphertext(byte[] plaintext) =>
        !Rotated.Encrypt(plaintext, "ctx").AsSpan().SequenceEqual(Rotated.Encrypt(plaintext, "ctx"));

    // One instance serves every caller (it is a singleton): callers at once must each get their own answer.
    [Property(MaxTest = 20)]
    public bool ConcurrentCallersEachGetTheirOwnAnswer(byte[][] plaintexts)
    {
        var results = new bool[plaintexts.Length * 8];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 16 }, i =>
        {
            var plaintext = plaintexts[i % plaintexts.Length];
            var context = $"ctx-{i}";
            results[i] = Rotated.Decrypt(Rotated.Encrypt(plaintext, context), context).AsSpan().SequenceEqual(plaintext);
        });
        return results.All(ok => ok);
    }
}
