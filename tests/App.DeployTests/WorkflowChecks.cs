using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace App.DeployTests;

/// <summary>
/// The OpenSSF Scorecard practices a workflow keeps: read-only permissions at the top (writes granted per job), every
/// action pinned by a full commit SHA with the version in a comment (what Dependabot reads to update it), and
/// harden-runner as the first step of every job.
/// </summary>
internal static partial class WorkflowChecks
{
    public const string HardenRunner = "step-security/harden-runner";

    public static List<string> Problems(string name, string yaml)
    {
        var problems = new List<string>();
        foreach (var line in yaml.Split('\n').Select(l => l.Trim()).Where(l => UsesLine().IsMatch(l)))
        {
            var reference = UsesLine().Match(line).Groups["ref"].Value;
            if (!reference.StartsWith("./", StringComparison.Ordinal) && !PinnedAction().IsMatch(line))
            {
                problems.Add($"{name}: '{reference}' is not pinned by a full commit SHA with its version in a comment");
            }
        }

        var workflow = YamlJson.Documents(yaml).Single();
        var permissions = workflow["permissions"];
        if (permissions is null)
        {
            problems.Add($"{name}: no top-level permissions (the token would get the repository's default, often write)");
        }
        else if (!ReadOnly(permissions))
        {
            problems.Add($"{name}: top-level permissions {permissions.ToJsonString()} are not read-only; grant writes per job");
        }

        foreach (var (job, definition) in workflow["jobs"]?.AsObject() ?? [])
        {
            var first = definition?["steps"]?.AsArray().FirstOrDefault();
            if (definition?["steps"] is not null &&
                (((string?)first?["uses"])?.StartsWith(HardenRunner + "@", StringComparison.Ordinal) != true ||
                 (string?)first?["with"]?["egress-policy"] is not ("audit" or "block")))
            {
                problems.Add($"{name}: job '{job}' does not start with {HardenRunner} (egress-policy audit or block)");
            }
        }

        return problems;
    }

    private static bool ReadOnly(JsonNode permissions) => permissions switch
    {
        JsonValue value => (string?)value == "read-all",
        JsonObject scopes => scopes.All(s => (string?)s.Value is "read" or "none"),
        _ => false,
    };

    [GeneratedRegex(@"^-?\s*uses:\s*(?<ref>\S+)")]
    private static partial Regex UsesLine();

    // owner/repo[/path]@<40 hex> # v<version>, or a container image pinned by digest.
    [GeneratedRegex(@"uses:\s*([\w.\-]+/[\w.\-/]+@[0-9a-f]{40}\s+#\s*v\d[\w.\-]*|docker://\S+@sha256:[0-9a-f]{64})\s*$")]
    private static partial Regex PinnedAction();
}
