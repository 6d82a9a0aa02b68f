using System.Security.Cryptography;
using App.Infrastructure.Privacy;
using FsCheck.Xunit;

namespace App.PropertyTests;

[Properties(Arbitrary = [typeof(EncryptionGenerators)], MaxTest = 200)]
public class ContentCipherProperties
{
    private static readonly DataKey Mine = new(Guid.NewGuid(), RandomNumberGenerator.GetBytes(32));
    private static readonly DataKey Theirs = new(Guid.NewGuid(), RandomNumberGenerator.GetBytes(32));

    [Property]
    public bool RoundTripsAndNamesItsKey(byte[] plaintext)
    {
        var blob = ContentCipher.Seal(Mine, plaintext, "ctx");
        return ContentCipher.KeyIdOf(blob) == Mine.Id && ContentCipher.Open(Mine.Material, blob, "ctx").AsSpan().SequenceEqual(plaintext);
    }

    [Property]
    public bool AnotherKeyOrPlaceOpensNothing(byte[] plaintext)
    {
        var blob = ContentCipher.Seal(Mine, plaintext, "ctx");
        return Throws(() => ContentCipher.Open(Theirs.Material, blob, "ctx")) && Throws(() => ContentCipher.Open(Mine.Material, blob, "other"));
    }

    [Property]
    public bool AnyFlippedBitIsDetected(byte[] plaintext, int position, byte mask)
    {
        var blob = ContentCipher.Seal(Mine, plaintext, "ctx");
        // The format byte and key id decide which key is tried; every byte after them is authenticated.
        var at = 17 + (int)((uint)position % (uint)(blob.Length - 17));
        blob[at] ^= mask == 0 ? (byte)1 : mask;
        return Throws(() => ContentCipher.Open(Mine.Material, blob, "ctx"));
    }

    private static bool Throws(Action open)
    {
        try
        {
            open();
            return false;
        }
        catch (CryptographicException)
        {
            return true;
        }
    }
}
