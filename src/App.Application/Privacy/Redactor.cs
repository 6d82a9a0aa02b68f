using System.Buffers;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace App.Application.Privacy;

/// <summary>
/// Replaces personal data and secrets in text with typed placeholders before it is stored: JWTs, API keys and
/// other secrets, e-mail addresses, IBANs (mod-97 checked), payment card numbers (Luhn checked), IP addresses
/// and phone numbers. Checks keep false positives down (an order number is not a card unless it passes Luhn).
/// Placeholders match no pattern, so redacting twice changes nothing. It is a safety net for what users paste,
/// not a classifier: free-text names and addresses are not recognised.
/// </summary>
public static partial class Redactor
{
    public const string Jwt = "JWT";
    public const string Secret = "SECRET";
    public const string Email = "EMAIL";
    public const string Iban = "IBAN";
    public const string Card = "CARD";
    public const string Ip = "IP";
    public const string Phone = "PHONE";

    // In ASCII text every pattern needs one of these characters, "eyJ" (a JWT) or "AKIA" / "AIza" in any case (the
    // two keys that may be letters only): a digit (IBAN, card, IPv4, phone), '@' (e-mail), ':' (IPv6, "key: ..."),
    // '=' ("token=..."), '-' or '_' (the other key prefixes).
    private static readonly SearchValues<char> Triggers = SearchValues.Create("0123456789@:=-_");

    public static Redaction Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return CannotMatch(text) ? new Redaction(text, ReadOnlyDictionary<string, int>.Empty) : RedactAll(text);
    }

    /// <summary>
    /// True when no pattern can match, decided in one vectorized scan instead of eight regex passes (most of what
    /// a model answers). Text with anything beyond ASCII always takes the full path: <c>\d</c> matches every
    /// Unicode digit, and case-insensitive matching has look-alikes (the Kelvin sign for K).
    /// </summary>
    internal static bool CannotMatch(string text) =>
        Ascii.IsValid(text)
        && text.AsSpan().IndexOfAny(Triggers) < 0
        && !text.Contains("eyJ", StringComparison.Ordinal)
        && !text.Contains("akia", StringComparison.OrdinalIgnoreCase)
        && !text.Contains("aiza", StringComparison.OrdinalIgnoreCase);

    /// <summary>Every pattern, whatever the text (what <see cref="Redact"/> does when <see cref="CannotMatch"/> is false).</summary>
    internal static Redaction RedactAll(string text)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        // A replacement can expose a new match at its edges (digits around a removed phone number, say), so
        // passes repeat until nothing changes: redacting the result again is then a no-op.
        for (var pass = 0; pass < 4; pass++)
        {
            var before = counts.Values.Sum();
            text = Pass(text, counts);
            if (counts.Values.Sum() == before)
            {
                break;
            }
        }

        return new Redaction(text, counts);
    }

    private static string Pass(string text, Dictionary<string, int> counts)
    {
        text = Replace(text, JwtPattern(), Jwt, counts);
        text = Replace(text, UrlCredentialsPattern(), Secret, counts, within: UserInfo);
        text = Replace(text, SecretPattern(), Secret, counts);
        text = Replace(text, EmailPattern(), Email, counts);
        text = Replace(text, IbanPattern(), Iban, counts, within: ValidIbanPrefix);
        text = Replace(text, CardPattern(), Card, counts, within: CardWindow);
        text = Replace(text, Ipv4Pattern(), Ip, counts);
        text = Replace(text, Ipv6Pattern(), Ip, counts, m => m.Count(c => c == ':') >= 2 && IPAddress.TryParse(m, out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6);
        text = Replace(text, PhonePattern(), Phone, counts, m => m.Count(char.IsAsciiDigit) is >= 8 and <= 15);
        return text;
    }

    // The user and password of "scheme://user:password@host", so that the URL stays readable.
    private static (int, int)? UserInfo(string candidate)
    {
        var start = candidate.IndexOf("://", StringComparison.Ordinal) + 3;
        return (start, candidate.LastIndexOf('@') - start);
    }

    /// <summary>Replaces the part of a candidate that <paramref name="find"/> locates (start, length), if any.</summary>
    private static string Within(string candidate, string kind, Dictionary<string, int> counts, Func<string, (int Start, int Length)?> find)
    {
        if (find(candidate) is not { } span)
        {
            return candidate;
        }

        counts[kind] = counts.GetValueOrDefault(kind) + 1;
        return candidate[..span.Start] + "[" + kind + "]" + candidate[(span.Start + span.Length)..];
    }

    // A spaced IBAN can swallow a following word; try the candidate, then shorter prefixes at group boundaries.
    private static (int, int)? ValidIbanPrefix(string candidate)
    {
        for (var end = candidate.Length; end >= 15; end = candidate.LastIndexOf(' ', end - 1))
        {
            if (IsIban(candidate[..end]))
            {
                return (0, end);
            }

            if (end <= 0)
            {
                break;
            }
        }

        return null;
    }

    // The longest run of whole digit groups (as written: "4111 1111 ...") with 13-19 digits that passes Luhn, so a
    // card number next to other numbers is still found, while a long number is not cut into an accidental match.
    private static (int, int)? CardWindow(string candidate)
    {
        var groups = new List<(int Start, int End, int Digits)>();
        for (var i = 0; i < candidate.Length;)
        {
            if (!char.IsAsciiDigit(candidate[i]))
            {
                i++;
                continue;
            }

            var start = i;
            while (i < candidate.Length && char.IsAsciiDigit(candidate[i]))
            {
                i++;
            }

            groups.Add((start, i, i - start));
        }

        (int, int)? best = null;
        var bestDigits = 0;
        for (var first = 0; first < groups.Count; first++)
        {
            var digits = 0;
            for (var last = first; last < groups.Count && digits <= 19; last++)
            {
                digits += groups[last].Digits;
                if (digits is >= 13 and <= 19 && digits > bestDigits && IsCard(candidate[groups[first].Start..groups[last].End]))
                {
                    best = (groups[first].Start, groups[last].End - groups[first].Start);
                    bestDigits = digits;
                }
            }
        }

        return best;
    }

    /// <summary>
    /// Replaces the matches <paramref name="accept"/> takes with the kind's placeholder, or, given
    /// <paramref name="within"/>, the part of each match it locates. Most texts match no pattern, so it asks first,
    /// and the replacement's delegate and closure (made on entry to the method that holds them) are only made when
    /// there is something to replace: the delegates alone were 3 % of what an uncached request allocated, with
    /// digits in every prompt.
    /// </summary>
    private static string Replace(string text, Regex pattern, string kind, Dictionary<string, int> counts, Func<string, bool>? accept = null, Func<string, (int Start, int Length)?>? within = null) =>
        pattern.IsMatch(text) ? ReplaceMatches(text, pattern, kind, counts, accept, within) : text;

    private static string ReplaceMatches(string text, Regex pattern, string kind, Dictionary<string, int> counts, Func<string, bool>? accept, Func<string, (int Start, int Length)?>? within) =>
        pattern.Replace(text, m =>
        {
            if (within is not null)
            {
                return Within(m.Value, kind, counts, within);
            }

            if (accept is not null && !accept(m.Value))
            {
                return m.Value;
            }

            counts[kind] = counts.GetValueOrDefault(kind) + 1;
            return "[" + kind + "]";
        });

    /// <summary>The Luhn checksum of a 13-19 digit card number, spaces and dashes ignored.</summary>
    public static bool IsCard(string candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        var digits = candidate.Where(char.IsAsciiDigit).Select(c => c - '0').ToArray();
        if (digits.Length is < 13 or > 19)
        {
            return false;
        }

        var sum = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            var d = digits[digits.Length - 1 - i];
            if (i % 2 == 1)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
        }

        return sum % 10 == 0;
    }

    /// <summary>ISO 13616: country, check digits, and a remainder of 1 modulo 97.</summary>
    public static bool IsIban(string candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        var iban = candidate.Replace(" ", string.Empty, StringComparison.Ordinal).ToUpperInvariant();
        if (iban.Length is < 15 or > 34)
        {
            return false;
        }

        var rearranged = iban[4..] + iban[..4];
        var remainder = 0;
        foreach (var c in rearranged)
        {
            var value = char.IsAsciiDigit(c) ? (c - '0').ToString(CultureInfo.InvariantCulture) : (c - 'A' + 10).ToString(CultureInfo.InvariantCulture);
            foreach (var digit in value)
            {
                remainder = ((remainder * 10) + (digit - '0')) % 97;
            }
        }

        return remainder == 1;
    }

    [GeneratedRegex(@"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:\[\]]+:[^\s/?#@]+@")]
    private static partial Regex UrlCredentialsPattern();

    [GeneratedRegex(@"\beyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")]
    private static partial Regex JwtPattern();

    [GeneratedRegex(@"\b(?:sk-(?:proj-|live-|test-|ant-)?[A-Za-z0-9_-]{16,}|rt_[A-Za-z0-9_-]{20,}|ghp_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,}|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|(?:api|secret|token|key)[_-]?[A-Za-z0-9]{0,10}[=:]\s*[A-Za-z0-9_\-/+]{20,})", RegexOptions.IgnoreCase)]
    private static partial Regex SecretPattern();

    [GeneratedRegex(@"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")]
    private static partial Regex EmailPattern();

    [GeneratedRegex(@"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")]
    private static partial Regex IbanPattern();

    [GeneratedRegex(@"(?<![\d-])\d(?:[ -]?\d){12,24}(?![\d-])")]
    private static partial Regex CardPattern();

    [GeneratedRegex(@"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b")]
    private static partial Regex Ipv4Pattern();

    [GeneratedRegex(@"(?<![0-9A-Za-z:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Za-z:])")]
    private static partial Regex Ipv6Pattern();

    [GeneratedRegex(@"(?<![\w+])\+?\d[\d ().-]{6,}\d(?!\w)")]
    private static partial Regex PhonePattern();
}
