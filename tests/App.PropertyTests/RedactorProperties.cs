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

    public static Gen<string> Ipv4 =>
        Gen.ArrayOf(Gen.Choose(1, 254), 4).Select(o => string.Join('.', o));

    public static Arbitrary<Sensitive> Values() => Arb.From(
        from pick in Gen.Elements(
            ("email", Email), ("card", Card), ("iban", Iban), ("jwt", Jwt), ("key", ApiKey), ("ip", Ipv4))
        from value in pick.Item2
        from before in Filler
        from after in Filler
        select new Sensitive(pick.Item1, value, before, after));

    public static Arbitrary<string> Texts() => Arb.From(
        Gen.Choose(0, 40).SelectMany(n => Gen.ArrayOf(Gen.OneOf(Gen.Elements(Words), Email, Card, Iban, Jwt, ApiKey, Ipv4, Digits(4)), n))
            .Select(parts => string.Join(' ', parts)));

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

    [Property]
    public bool LeavesOrdinaryWordsAlone(NonEmptyString word) =>
        !word.Get.Any(char.IsAsciiDigit) && !word.Get.Contains('@', StringComparison.Ordinal) && !word.Get.Contains(':', StringComparison.Ordinal)
            ? Redactor.Redact(word.Get).Text == word.Get
            : true;
}
