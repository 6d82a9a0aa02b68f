using System.Text.RegularExpressions;

namespace App.DeployTests.Template;

/// <summary>
/// Finds the template's product name, <c>App</c> as a word, left in a solution made under another name: in file
/// and folder names and in text. The allow-list names each use of the word that is not the product's, and why.
/// Lowercase names (<c>app-api</c>, <c>app_*</c> metrics, the <c>app</c> database) are operational identifiers the
/// template keeps on purpose (docs/template.md), so the search is case-sensitive.
/// </summary>
internal static partial class NameLeaks
{
    private static readonly (Regex Use, string Why)[] Allowed =
    [
        (new(@"\b(Microsoft\.)?(AspNetCore|NETCore)\.App\b"), ".NET's shared frameworks"),
        (new(@"FrameKind\.App\b|^\s*App,\s*$|""App""\)\]"), "the flame graph's frame kind for the product's own code, an enum member"),
        (new(@"\bGitHub App\b"), "GitHub's name for an app registration"),
        (new(@"""App crashes on export"""), "a golden-set input: a support ticket's own words"),
        (new(@"\bApp-s2p\b|\bApp::s2p\b"), "an SPDX license identifier in the CycloneDX schema's list of licences"),
    ];

    private static readonly HashSet<string> SkippedFolders = ["bin", "obj", ".local", "artifacts", "node_modules", "TestResults"];

    /// <summary>Every leak under <paramref name="root"/>, as <c>path:line: text</c> (or <c>path: name</c>).</summary>
    public static IReadOnlyList<string> Find(string root)
    {
        var leaks = new List<string>();
        foreach (var file in Files(root))
        {
            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (Word().IsMatch(relative))
            {
                leaks.Add($"{relative}: name");
            }

            if (IsBinary(file))
            {
                continue;
            }

            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                if (Word().IsMatch(lines[i]) && !IsAllowed(lines[i]))
                {
                    leaks.Add($"{relative}:{i + 1}: {lines[i].Trim()}");
                }
            }
        }

        return leaks;
    }

    private static bool IsAllowed(string line)
    {
        // Every use of the word on the line must be an allowed one.
        var rest = line;
        foreach (var (use, _) in Allowed)
        {
            rest = use.Replace(rest, string.Empty);
        }

        return !Word().IsMatch(rest);
    }

    private static IEnumerable<string> Files(string folder)
    {
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            yield return file;
        }

        foreach (var sub in Directory.EnumerateDirectories(folder).Where(d => !SkippedFolders.Contains(Path.GetFileName(d))))
        {
            foreach (var file in Files(sub))
            {
                yield return file;
            }
        }
    }

    private static bool IsBinary(string file)
    {
        using var stream = File.OpenRead(file);
        var head = new byte[8000];
        var read = stream.Read(head, 0, head.Length);
        return Array.IndexOf(head, (byte)0, 0, read) >= 0;
    }

    [GeneratedRegex(@"\bApp\b")]
    private static partial Regex Word();
}
