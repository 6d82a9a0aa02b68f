using System.Text.RegularExpressions;
using App.Testing;

namespace App.DeployTests.Policies;

/// <summary>Runs deploy/policies/check.sh and reads its denial lines.</summary>
internal static partial class PolicyGate
{
    // The first run installs the gate's npm packages into one directory: runs take turns.
    private static readonly SemaphoreSlim Turn = new(1, 1);

    public static string Root { get; } = Databases.RepositoryRoot();

    public static string PoliciesDir { get; } = Path.Combine(Root, "deploy", "policies");

    public static async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        await Turn.WaitAsync();
        try
        {
            var (exitCode, stdout, stderr) = await Tool.RunAsync("bash", ["deploy/policies/check.sh", .. args], timeout: TimeSpan.FromMinutes(5));
            return (exitCode, stdout + stderr);
        }
        finally
        {
            Turn.Release();
        }
    }

    /// <summary>The denial lines of a run: source, kind, name, policy and message.</summary>
    public static IReadOnlyList<Denial> Denials(string output) =>
        [.. DenialLine().Matches(output).Select(m => new Denial(
            m.Groups["source"].Value, m.Groups["kind"].Value, m.Groups["name"].Value, m.Groups["policy"].Value, m.Groups["message"].Value))];

    /// <summary>The `# key: value` comment lines a fixture starts with.</summary>
    public static IReadOnlyList<string> Header(string path, string key) =>
        [.. File.ReadLines(path)
            .TakeWhile(line => line.StartsWith('#'))
            .Select(line => HeaderLine().Match(line))
            .Where(m => m.Success && m.Groups["key"].Value == key)
            .Select(m => m.Groups["value"].Value)];

    public static string Relative(string path) => Path.GetRelativePath(Root, path);

    [GeneratedRegex(@"^(?<source>[^\s:]+): (?<kind>[A-Za-z]+)/(?<name>[^:\s]+): (?<policy>[a-z-]+): (?<message>.+)$", RegexOptions.Multiline)]
    private static partial Regex DenialLine();

    [GeneratedRegex(@"^#\s*(?<key>[a-z-]+):\s*(?<value>.+?)\s*$")]
    private static partial Regex HeaderLine();
}
