using System.Security.Cryptography;

namespace App.Application;

/// <summary>
/// Version 7 UUIDs (RFC 9562), ordered by time so rows keyed by them insert at the end of their index; the random
/// bits come from a per-thread buffer filled by <see cref="RandomNumberGenerator"/>, since
/// <see cref="Guid.CreateVersion7()"/> makes a system call for every id on Linux (docs/benchmarks-history.md).
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
