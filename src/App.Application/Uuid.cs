using System.Security.Cryptography;

namespace App.Application;

/// <summary>
/// Version 7 UUIDs (RFC 9562: 48 bits of Unix milliseconds, then 74 random bits), ordered by time so rows keyed by
/// them insert at the end of their index. On Linux <see cref="Guid.CreateVersion7()"/> reads <c>/dev/urandom</c>
/// once per call, a system call per id (two per chat request, seen with strace). These take their random bits
/// from <see cref="RandomNumberGenerator"/> (OpenSSL's generator, in user space) 250 bytes at a time per thread,
/// so 25 ids cost one call into it.
/// </summary>
public static class Uuid
{
    private const int RandomBytes = 10;
    private const int BufferSize = 25 * RandomBytes;

    [ThreadStatic]
    private static byte[]? _random;

    [ThreadStatic]
    private static int _used;

    public static Guid NewVersion7() => NewVersion7(DateTimeOffset.UtcNow);

    public static Guid NewVersion7(DateTimeOffset timestamp)
    {
        var ms = timestamp.ToUnixTimeMilliseconds();
        ArgumentOutOfRangeException.ThrowIfNegative(ms, nameof(timestamp));
        var random = _random;
        if (random is null || _used > BufferSize - RandomBytes)
        {
            random = _random ??= new byte[BufferSize];
            RandomNumberGenerator.Fill(random);
            _used = 0;
        }

        Span<byte> bytes = stackalloc byte[16];
        random.AsSpan(_used, RandomBytes).CopyTo(bytes[6..]);
        _used += RandomBytes;
        // Big-endian: the 48-bit timestamp first, then the version (7) and variant (10xx) bits over random ones.
        for (var i = 0; i < 6; i++)
        {
            bytes[i] = (byte)(ms >> (8 * (5 - i)));
        }

        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F));
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
        return new Guid(bytes, bigEndian: true);
    }
}
