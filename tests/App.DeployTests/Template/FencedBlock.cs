using System.Text.RegularExpressions;

namespace App.DeployTests.Template;

/// <summary>A fenced block of a Markdown page: its info string (<c>bash</c>, <c>json path=...</c>), text and section.</summary>
internal sealed record FencedBlock(string Info, string Text, string Section)
{
    public string Language => Info.Split(' ', 2)[0];

    /// <summary>The value of <c>name=value</c> in the info string, if present.</summary>
    public string? Attribute(string name) =>
        Info.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)).FirstOrDefault(p => p.Length == 2 && p[0] == name)?[1];

    public bool Has(string word) => Info.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Contains(word);

    /// <summary>Every fenced block of a page, in order, with the <c>##</c> heading it sits under.</summary>
    public static IReadOnlyList<FencedBlock> Parse(string markdown)
    {
        var blocks = new List<FencedBlock>();
        var section = string.Empty;
        string? info = null;
        var text = new List<string>();
        foreach (var line in markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            if (info is null && line.StartsWith("## ", StringComparison.Ordinal))
            {
                section = line[3..].Trim();
            }
            else if (info is null && line.StartsWith("```", StringComparison.Ordinal))
            {
                info = line[3..].Trim();
                text.Clear();
            }
            else if (info is not null && line == "```")
            {
                blocks.Add(new FencedBlock(info, string.Join('\n', text), section));
                info = null;
            }
            else if (info is not null)
            {
                text.Add(line);
            }
        }

        return blocks;
    }

    /// <summary>
    /// Fails unless every line of this (expected output) block is in <paramref name="output"/>; <c>...</c> in a line
    /// stands for any text.
    /// </summary>
    public void AssertPrintedBy(string output, string command)
    {
        foreach (var line in Text.Split('\n').Where(l => l.Trim().Length > 0))
        {
            var pattern = string.Join(".*", line.Split("...").Select(Regex.Escape));
            Assert.True(Regex.IsMatch(output, pattern), $"'{line}' is not in what this printed:\n{command}\n---\n{output}");
        }
    }
}
