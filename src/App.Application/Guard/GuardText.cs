using System.Buffers;
using System.Globalization;

namespace App.Application.Guard;

/// <summary>The text the guard's rules see: what an end user wrote, with the usual disguises taken off.</summary>
internal static class GuardText
{
    public const int MaxChars = 65_536;

    /// <summary>
    /// Folds full-width look-alikes (U+FF01-FF5E, U+3000) to ASCII, drops zero-width and format characters, and
    /// collapses whitespace; one line per text, at most <see cref="MaxChars"/> characters in all. The look-alikes are
    /// folded here because the service runs with invariant globalization, where string.Normalize(FormKC) is missing.
    /// </summary>
    public static string Normalize(IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        char[]? buffer = null;
        try
        {
            var length = NormalizeInto(texts, ref buffer);
            return length == 0 ? string.Empty : new string(buffer!, 0, length);
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<char>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>Writes the normalized text into <paramref name="buffer"/> (rented, grown as needed) and returns its length.</summary>
    public static int NormalizeInto(IEnumerable<string> texts, ref char[]? buffer)
    {
        var n = 0;
        foreach (var part in texts)
        {
            if (n >= MaxChars)
            {
                break;
            }

            // A text never grows: folding keeps its length, the rest only removes. One more for its line end.
            Reserve(ref buffer, n, Math.Min(n + part.Length + 1, MaxChars));
            var space = false;
            foreach (var raw in part)
            {
                var c = raw switch
                {
                    >= '\uFF01' and <= '\uFF5E' => (char)(raw - 0xFEE0),
                    '\u3000' => ' ',
                    _ => raw,
                };
                if (c is '\u200B' or '\u200C' or '\u200D' or '\u2060' or '\uFEFF' || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)
                {
                    continue;
                }

                if (char.IsWhiteSpace(c))
                {
                    space = true;
                    continue;
                }

                if (space && n > 0 && buffer![n - 1] != '\n')
                {
                    if (n == MaxChars)
                    {
                        return n;
                    }

                    buffer[n++] = ' ';
                }

                space = false;
                if (n == MaxChars)
                {
                    return n;
                }

                buffer![n++] = c;
            }

            if (n == MaxChars)
            {
                return n;
            }

            buffer![n++] = '\n';
        }

        return n;
    }

    private static void Reserve(ref char[]? buffer, int used, int needed)
    {
        if (buffer is not null && buffer.Length >= needed)
        {
            return;
        }

        var larger = ArrayPool<char>.Shared.Rent(Math.Max(needed, Math.Min(MaxChars, (buffer?.Length ?? 0) * 2)));
        if (buffer is not null)
        {
            buffer.AsSpan(0, used).CopyTo(larger);
            ArrayPool<char>.Shared.Return(buffer);
        }

        buffer = larger;
    }
}
