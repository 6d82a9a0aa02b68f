using System.Globalization;
using System.Text;
using App.Application.Guard;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace App.PropertyTests;

/// <summary>Texts made of what normalization acts on: whitespace runs, zero-width and format characters, full-width look-alikes.</summary>
public static class NormalizeGenerators
{
    private static readonly char[] Alphabet = ['a', 'Z', '7', '.', ' ', ' ', '\t', '\n', '\r', '\u00A0', '\u200B', '\u200D', '\uFEFF', '\u00AD', '\u2060', '\uFF21', '\uFF41', '\uFF5E', '\u3000', 'é', '中'];

    private static Gen<string> Short => Gen.ArrayOf(Gen.Elements(Alphabet)).Select(cs => new string(cs));

    // Now and then a text long enough that the whole crosses the 65,536-character cap, inside a whitespace run or not.
    private static Gen<string> Long =>
        from size in Gen.Choose(30_000, 70_000)
        from unit in Short
        let u = unit.Length == 0 ? "x " : unit
        select new StringBuilder(size + u.Length).Insert(0, u, (size / u.Length) + 1).ToString();

    public static Arbitrary<string[]> Texts() => Arb.From(Gen.ArrayOf(Gen.Frequency((9, Short), (1, Long))));
}

[Properties(Arbitrary = [typeof(NormalizeGenerators)], MaxTest = 300)]
public class GuardNormalizeProperties
{
    private const int MaxChars = 65_536;

    /// <summary>Normalization as specified, written the plain way: fold, drop, collapse, one line per text, then cut.</summary>
    private static string Model(IEnumerable<string> texts)
    {
        var builder = new StringBuilder();
        foreach (var part in texts)
        {
            if (builder.Length >= MaxChars)
            {
                break;
            }

            var space = false;
            foreach (var raw in part)
            {
                var c = raw is >= '\uFF01' and <= '\uFF5E' ? (char)(raw - 0xFEE0) : raw == '\u3000' ? ' ' : raw;
                if (c is '\u200B' or '\u200C' or '\u200D' or '\u2060' or '\uFEFF' || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)
                {
                    continue;
                }

                if (char.IsWhiteSpace(c))
                {
                    space = true;
                    continue;
                }

                if (space && builder.Length > 0 && builder[^1] != '\n')
                {
                    builder.Append(' ');
                }

                space = false;
                builder.Append(c);
            }

            builder.Append('\n');
        }

        return builder.Length > MaxChars ? builder.ToString(0, MaxChars) : builder.ToString();
    }

    [Property]
    public bool NormalizeIsTheModel(string[] texts) => InputGuard.Normalize(texts) == Model(texts);

    [Fact]
    public void TheCapFallsWhereTheModelPutsIt()
    {
        foreach (var n in new[] { MaxChars - 2, MaxChars - 1, MaxChars, MaxChars + 1 })
        {
            string[] texts = [new string('a', n), "b c"];
            Assert.Equal(Model(texts), InputGuard.Normalize(texts));
            Assert.True(InputGuard.Normalize(texts).Length <= MaxChars);
        }

        Assert.Equal(string.Empty, InputGuard.Normalize([]));
        Assert.Equal("\n", InputGuard.Normalize([" \u200B "]));
    }
}
