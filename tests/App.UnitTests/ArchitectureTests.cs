using System.Text.RegularExpressions;

namespace App.UnitTests;

/// <summary>
/// The layout rules of docs/architecture.md, checked on the source so that they hold by test rather than by review:
/// no source file over 350 lines (migrations aside), no two namespaces that import each other, and few files with more
/// than one top-level type. Each rule is a function over file texts, tried first on a planted breach.
/// </summary>
public partial class ArchitectureTests
{
    public const int MaxLines = 350;

    // Files that hold more than one top-level type on purpose; each names why in its own header comment.
    public const int MaxFilesWithSeveralTypes = 5;

    private static readonly Lazy<IReadOnlyList<(string Path, string Text)>> Sources = new(() =>
        [.. Directory.EnumerateFiles(Path.Combine(RepositoryRoot(), "src"), "*.cs", SearchOption.AllDirectories)
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !p.Contains($"{Path.DirectorySeparatorChar}Migrations{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(p => (Path.GetRelativePath(RepositoryRoot(), p), File.ReadAllText(p)))]);

    [Fact]
    public void NoSourceFileIsLongerThanTheLimit()
    {
        var tooLong = TooLong(Sources.Value);
        Assert.True(tooLong.Count == 0, "over " + MaxLines + " lines: " + string.Join(", ", tooLong));
    }

    [Fact]
    public void NoTwoNamespacesImportEachOther()
    {
        var ties = TwoWayTies(Sources.Value);
        Assert.True(ties.Count == 0, "namespaces that import each other: " + string.Join("; ", ties));
    }

    [Fact]
    public void FewFilesHoldMoreThanOneTopLevelType()
    {
        var several = WithSeveralTypes(Sources.Value);
        Assert.True(several.Count <= MaxFilesWithSeveralTypes, $"{several.Count} files hold several top-level types: " + string.Join(", ", several));
    }

    [Fact]
    public void EachRuleCatchesTheBreachPlantedForIt()
    {
        var longFile = string.Join('\n', Enumerable.Repeat("// line", MaxLines + 1));
        Assert.Equal(["src/Long.cs"], TooLong([("src/Long.cs", longFile), ("src/Short.cs", "// one line")]));

        (string, string)[] tied =
        [
            ("src/A/One.cs", "using App.Application.Beta;\nnamespace App.Application.Alpha;\npublic sealed class One;"),
            ("src/B/Two.cs", "namespace App.Application.Beta;\npublic sealed class Two { App.Application.Alpha.One? _one; }"),
            ("src/C/Three.cs", "using App.Application.Alpha;\nnamespace App.Application.Gamma;\npublic sealed class Three;"),
        ];
        Assert.Equal(["App.Application.Alpha <-> App.Application.Beta"], TwoWayTies(tied));

        (string, string)[] crowded =
        [
            ("src/Two.cs", "namespace App.Api;\n\npublic sealed class First\n{\n    private sealed class Nested;\n}\n\ninternal enum Second\n{\n    A,\n}\n"),
            ("src/One.cs", "namespace App.Api;\n\npublic sealed class Only\n{\n    public sealed record Nested(int A);\n}\n"),
        ];
        Assert.Equal(["src/Two.cs (First, Second)"], WithSeveralTypes(crowded));
    }

    public static List<string> TooLong(IEnumerable<(string Path, string Text)> files) =>
        [.. files.Where(f => f.Text.Split('\n').Length > MaxLines).Select(f => f.Path)];

    /// <summary>
    /// Pairs of namespaces each of which names the other: in a <c>using</c> directive or as a qualified name in code.
    /// A type of an enclosing namespace used without either is not seen, a limit of reading source as text.
    /// </summary>
    public static List<string> TwoWayTies(IEnumerable<(string Path, string Text)> files)
    {
        var list = files.ToList();
        var declared = list.Select(f => NamespaceOf(f.Text)).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var edges = new HashSet<(string From, string To)>();
        foreach (var (_, text) in list)
        {
            if (NamespaceOf(text) is not { } from)
            {
                continue;
            }

            foreach (Match name in QualifiedName().Matches(text))
            {
                // The longest declared namespace the name starts with is the one it refers to.
                var to = declared.Where(d => name.Value == d || name.Value.StartsWith(d + ".", StringComparison.Ordinal)).MaxBy(d => d.Length);
                if (to is not null && to != from)
                {
                    edges.Add((from, to));
                }
            }
        }

        return [.. edges.Where(e => string.CompareOrdinal(e.From, e.To) < 0 && edges.Contains((e.To, e.From))).Select(e => $"{e.From} <-> {e.To}").Order(StringComparer.Ordinal)];
    }

    public static List<string> WithSeveralTypes(IEnumerable<(string Path, string Text)> files) =>
        [.. files.Select(f => (f.Path, Types: TopLevelType().Matches(f.Text).Select(m => m.Groups["name"].Value).ToList()))
            .Where(f => f.Types.Count > 1)
            .Select(f => $"{f.Path} ({string.Join(", ", f.Types)})")];

    private static string? NamespaceOf(string text) => FileNamespace().Match(text) is { Success: true } m ? m.Groups["name"].Value : null;

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "App.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("App.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^namespace (?<name>[\w.]+);", RegexOptions.Multiline)]
    private static partial Regex FileNamespace();

    [GeneratedRegex(@"\bApp\.(?:Api|Application|Infrastructure)(?:\.\w+)+")]
    private static partial Regex QualifiedName();

    // File-scoped namespaces: a top-level type starts its line; nested ones are indented.
    [GeneratedRegex(@"^(?:\[[^\]]*\]\s*)*(?:(?:public|internal|file|sealed|static|abstract|readonly|partial|ref|unsafe)\s+)*(?:class|record(?:\s+struct|\s+class)?|struct|interface|enum|delegate\s+[\w<>?,\s]+?)\s+(?<name>\w+)", RegexOptions.Multiline)]
    private static partial Regex TopLevelType();
}
