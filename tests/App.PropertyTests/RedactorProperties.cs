using System.Globalization;
using System.Text;
using App.Application.Privacy;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace App.PropertyTests;

/// <summary>A sensitive value embedded in ordinary text.</summary>
public sealed record Sensitive(string Kind, string Value, string Before, string After)
{
    public string Text => Before + Value + After;

    public override string ToString() => $"{Kind}: {Text}";
}

public static class RedactorGenerators
{
    private static readonly string[] Words = ["hello", "please", "order", "42", "the", "ticket", "is", "about", "(", ")", ",", ".", "now", "ok", "tomorrow"];

    private static Gen<string> Filler =>
        Gen.Choose(0, 6).SelectMany(n => Gen.ArrayOf(Gen.Elements(Words), n)).Select(w => w.Length == 0 ? " " : " " + string.Join(' ', w) + " ");

    private static Gen<string> Digits(int count) => Gen.ArrayOf(Gen.Choose(0, 9), count).Select(d => string.Concat(d));

    private static Gen<string> Alnum(int min, int max) =>
        Gen.Choose(min, max).SelectMany(n => Gen.ArrayOf(Gen.Elements("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".ToCharArray()), n)).Select(c => new string(c));

    public static Gen<string> Email =>
        from user in Alnum(1, 12)
        from domain in Alnum(2, 10)
        from tld in Gen.Elements("com", "org", "io", "co.uk", "de")
        select $"{user}.{user[..1]}@{domain}.{tld}";

    public static Gen<string> Card =>
        from length in Gen.Elements(15, 16)
        from body in Digits(length - 1)
        from spaced in Gen.Elements(true, false)
        select Format((body.StartsWith('0') ? "4" + body[1..] : body) is var b ? b + LuhnDigit(b) : string.Empty, spaced);

    public static Gen<string> Iban =>
        from country in Gen.Elements("DE", "FR", "GB", "NL")
        from bban in Digits(18)
        from spaced in Gen.Elements(true, false)
        select Group(country + CheckDigits(country, bban) + bban, spaced);

    public static Gen<string> Jwt =>
        from header in Alnum(10, 30)
        from body in Alnum(10, 60)
        from signature in Alnum(20, 43)
        select $"eyJ{header}.eyJ{body}.{signature}";

    public static Gen<string> ApiKey =>
        from kind in Gen.Elements("sk-", "sk-proj-", "ghp_", "AKIA")
        from rest in kind == "AKIA" ? Alnum(16, 16).Select(s => s.ToUpperInvariant()) : Alnum(32, 48)
        select kind + rest;

    /// <summary>A URL carrying a user and password, as connection strings and webhooks do.</summary>
    public static Gen<string> UrlWithPassword =>
        from scheme in Gen.Elements("https", "postgres", "redis", "amqp")
        from user in Alnum(1, 10)
        from password in Alnum(12, 24)
        from host in Alnum(2, 10)
        select $"{scheme}://{user}:{password}@{host}.internal.example/app";

    public static Gen<string> Ipv4 =>
        Gen.ArrayOf(Gen.Choose(1, 254), 4).Select(o => string.Join('.', o));

    public static Arbitrary<Sensitive> Values() => Arb.From(
        from pick in Gen.Elements(
            ("email", Email), ("card", Card), ("iban", Iban), ("jwt", Jwt), ("key", ApiKey), ("ip", Ipv4), ("url password", UrlWithPassword))
        from value in pick.Item2
        from before in Filler
        from after in Filler
        select new Sensitive(pick.Item1, value, before, after));

    public static Arbitrary<string> Texts() => Arb.From(
        Gen.Choose(0, 40).SelectMany(n => Gen.ArrayOf(Gen.OneOf(Gen.Elements(Words), Email, Card, Iban, Jwt, ApiKey, Ipv4, Digits(4)), n))
            .Select(parts => string.Join(' ', parts)));

    private static Gen<string> Letters(int min, int max) =>
        Gen.Choose(min, max).SelectMany(n => Gen.ArrayOf(Gen.Elements("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".ToCharArray()), n)).Select(c => new string(c));

    /// <summary>
    /// Secrets without a digit or a separator, words with and without the characters the redactor's quick check
    /// looks for, and non-ASCII look-alikes (other scripts' digits, the Kelvin sign).
    /// </summary>
    public static Gen<string> Tricky => Gen.OneOf(
        Letters(16, 16).Select(l => "AKIA" + l.ToUpperInvariant()),
        Letters(16, 16).Select(l => "akia" + l),
        Letters(35, 35).Select(l => "AIza" + l),
        from a in Letters(2, 8) from b in Letters(2, 8) from c in Letters(0, 8) select $"eyJ{a}.eyJ{b}.{c}",
        Gen.Elements("\u0664\u0661\u0661\u0661.\u0664.\u0664.\u0664", "+\u0664\u0664 \u0662\u0660 \u0667\u0669\u0664\u0666 \u0660\u0669\u0665\u0668", "\u212AEY", "A\u212AIA", "\uFF11\uFF12\uFF13"),
        Gen.Elements("well-known", "snake_case", "a=b", "note:", "x@y", "plain", "words", "only"),
        Letters(1, 12));

    public static Arbitrary<string[]> Mixed() => Arb.From(
        Gen.Choose(0, 12).SelectMany(n => Gen.ArrayOf(Gen.OneOf(Gen.Elements(Words), Tricky, Tricky, Email, Card, Iban, Jwt, ApiKey, Ipv4), n)));

    private static string Format(string digits, bool spaced) =>
        spaced ? string.Join(' ', Enumerable.Range(0, (digits.Length + 3) / 4).Select(i => digits.Substring(i * 4, Math.Min(4, digits.Length - (i * 4))))) : digits;

    private static string Group(string iban, bool spaced) => Format(iban, spaced);

    private static char LuhnDigit(string body)
    {
        for (var d = 0; d < 10; d++)
        {
            if (Redactor.IsCard(body + d.ToString(CultureInfo.InvariantCulture)))
            {
                return (char)('0' + d);
            }
        }

        throw new InvalidOperationException("no Luhn digit");
    }

    private static string CheckDigits(string country, string bban)
    {
        var numeric = new StringBuilder();
        foreach (var c in bban + country + "00")
        {
            numeric.Append(char.IsAsciiDigit(c) ? c.ToString() : (c - 'A' + 10).ToString(CultureInfo.InvariantCulture));
        }

        var remainder = 0;
        foreach (var digit in numeric.ToString())
        {
            remainder = ((remainder * 10) + (digit - '0')) % 97;
        }

        return (98 - remainder).ToString("00", CultureInfo.InvariantCulture);
    }
}

[Properties(Arbitrary = [typeof(RedactorGenerators)], MaxTest = 500)]
public class RedactorProperties
{
    [Property]
    public bool NeverLetsASensitiveValueThrough(Sensitive sample)
    {
        var redacted = Redactor.Redact(sample.Text);
        var digitsOnly = new string(sample.Value.Where(char.IsAsciiLetterOrDigit).ToArray());
        return !redacted.Text.Contains(sample.Value, StringComparison.Ordinal)
            && !redacted.Text.Replace(" ", string.Empty, StringComparison.Ordinal).Contains(digitsOnly, StringComparison.Ordinal)
            && redacted.Total >= 1;
    }

    [Property]
    public bool IsIdempotent(string text)
    {
        var once = Redactor.Redact(text);
        var twice = Redactor.Redact(once.Text);
        return twice.Text == once.Text && twice.Total == 0;
    }

    // Redact first decides in one scan whether any pattern can match; it must answer exactly as running them all.
    [Property]
    public bool TheQuickCheckNeverChangesTheAnswer(string[] parts)
    {
        var text = string.Join(' ', parts);
        var quick = Redactor.Redact(text);
        var full = Redactor.RedactAll(text);
        return quick.Text == full.Text && quick.Counts.OrderBy(c => c.Key, StringComparer.Ordinal).SequenceEqual(full.Counts.OrderBy(c => c.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void SecretsWithoutDigitsOrSeparatorsAreStillLookedFor()
    {
        foreach (var secret in new[] { "AKIAABCDEFGHIJKLMNOP", "akiaabcdefghijklmnop", "AIza" + new string('x', 35), "eyJhbGc.eyJzdWI.abc" })
        {
            Assert.False(Redactor.CannotMatch("here it is " + secret), secret);
            Assert.True(Redactor.Redact("here it is " + secret).Total >= 1, secret);
        }

        Assert.False(Redactor.CannotMatch("\u0664\u0661\u0661\u0661.\u0664.\u0664.\u0664"));
        Assert.True(Redactor.CannotMatch("A plain answer, with punctuation (and brackets); nothing else!"));
    }

    [Property]
    public bool LeavesOrdinaryWordsAlone(NonEmptyString word) =>
        !word.Get.Any(char.IsAsciiDigit) && !word.Get.Contains('@', StringComparison.Ordinal) && !word.Get.Contains(':', StringComparison.Ordinal)
            ? Redactor.Redact(word.Get).Text == word.Get
            : true;
}
