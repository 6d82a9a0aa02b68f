using System.Text.RegularExpressions;
using App.Application.Guard;
using App.Testing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace App.PropertyTests;

/// <summary>Texts spliced from the labelled guard sets: words of attacks and of ordinary prompts, cut and mixed.</summary>
public static class GuardGenerators
{
    internal static readonly string[] Lines =
        [.. new[] { "injections.txt", "benign.txt" }
            .SelectMany(name => File.ReadLines(Path.Combine(Databases.RepositoryRoot(), "tests", "data", "guard", name)))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))];

    private static readonly string[] Words = [.. Lines.SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Distinct()];

    private static Gen<string> Slice =>
        from line in Gen.Elements(Lines)
        let words = line.Split(' ')
        from start in Gen.Choose(0, words.Length - 1)
        from length in Gen.Choose(1, words.Length - start)
        select string.Join(' ', words, start, length);

    private static Gen<string> Piece => Gen.OneOf(Slice, Slice, Gen.Elements(Words), Gen.Elements(Lines));

    public static Arbitrary<string[]> Messages() => Arb.From(
        Gen.Choose(1, 3).SelectMany(parts => Gen.ArrayOf(Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(Piece, n)).Select(p => string.Join(' ', p)), parts)));
}

/// <summary>
/// The guard answers with one pass over the alternation of all its rules and only then runs each rule; its
/// verdict must be exactly the one that running every rule on its own gives.
/// </summary>
[Properties(Arbitrary = [typeof(GuardGenerators)], MaxTest = 1000)]
public class GuardProperties
{
    private const RegexOptions Options = RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.NonBacktracking;
    private static readonly string RulesFile = Path.Combine(Databases.RepositoryRoot(), "src", "App.Api", "guard", "rules.v1.json");
    private static readonly InputGuard Guard = InputGuard.Load(File.ReadAllText(RulesFile));
    private static readonly (string Id, double Weight, Regex Regex)[] EachRule = LoadEachRule();

    private static (string Id, double Weight, Regex Regex)[] LoadEachRule()
    {
        using var set = System.Text.Json.JsonDocument.Parse(
            File.ReadAllText(RulesFile),
            new System.Text.Json.JsonDocumentOptions { CommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true });
        return [.. set.RootElement.GetProperty("rules").EnumerateArray().Select(r => (
            r.GetProperty("id").GetString()!,
            r.GetProperty("weight").GetDouble(),
            new Regex(r.GetProperty("pattern").GetString()!, Options)))];
    }

    private static bool SameAsEachRuleAlone(string[] messages)
    {
        var text = InputGuard.Normalize(messages);
        var expected = EachRule.Where(r => r.Regex.IsMatch(text)).ToArray();
        var score = Math.Round(1 - expected.Aggregate(1.0, (miss, r) => miss * (1 - r.Weight)), 3);
        var verdict = Guard.Score(messages);
        return verdict.Rules.SequenceEqual(expected.Select(r => r.Id)) && verdict.Score == score && verdict.Suspected == score >= Guard.Threshold;
    }

    [Property]
    public bool SplicedTextsGetTheVerdictOfEveryRuleRunAlone(string[] messages) => SameAsEachRuleAlone(messages);

    [Fact]
    public void EveryLabelledLineGetsTheVerdictOfEveryRuleRunAlone()
    {
        Assert.All(GuardGenerators.Lines, line => Assert.True(SameAsEachRuleAlone([line]), line));
        // The sets exercise both sides: lines no rule matches, and lines several rules match.
        Assert.Contains(GuardGenerators.Lines, l => !EachRule.Any(r => r.Regex.IsMatch(InputGuard.Normalize([l]))));
        Assert.Contains(GuardGenerators.Lines, l => EachRule.Count(r => r.Regex.IsMatch(InputGuard.Normalize([l]))) >= 2);
    }
}
