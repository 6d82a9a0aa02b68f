using System.Text.Json.Nodes;

namespace App.DeployTests;

/// <summary>
/// Build once (.github/workflows/ci.yml): one job builds the solution and uploads the build as the artifact
/// <c>build</c>; every job that tests or runs the service needs that job, downloads that artifact and tells the
/// scripts not to build again (<c>APP_TEST_NO_BUILD</c> for deploy/local/test.sh, <c>APP_NO_BUILD</c> for
/// deploy/local/run.sh), so what the gates passed is what was built.
/// </summary>
internal static class BuildOnceChecks
{
    public const string BuildJob = "build";
    public const string Artifact = "build";

    private static readonly (string Script, string Switch)[] Consumers =
    [
        ("deploy/local/test.sh", "APP_TEST_NO_BUILD"),
        ("deploy/local/run.sh", "APP_NO_BUILD"),
    ];

    public static List<string> Problems(string yaml)
    {
        var problems = new List<string>();
        var jobs = YamlJson.Documents(yaml).Single()["jobs"]?.AsObject() ?? [];
        foreach (var (name, job) in jobs)
        {
            var steps = job?["steps"]?.AsArray().OfType<JsonObject>().ToList() ?? [];
            var builds = steps.Any(s => Run(s).Contains("dotnet build", StringComparison.Ordinal) || Run(s).Contains("dotnet publish", StringComparison.Ordinal));
            if (name == BuildJob)
            {
                if (!builds || !steps.Any(s => Uses(s, "actions/upload-artifact") && (string?)s["with"]?["name"] == Artifact))
                {
                    problems.Add($"job '{BuildJob}' must build the solution and upload it as the artifact '{Artifact}'");
                }

                continue;
            }

            if (builds)
            {
                problems.Add($"job '{name}' builds again; it must use the artifact '{Artifact}' of job '{BuildJob}'");
            }

            foreach (var (script, @switch) in Consumers)
            {
                foreach (var step in steps.Where(s => Run(s).Contains(script, StringComparison.Ordinal)))
                {
                    if ((string?)step["env"]?[@switch] != "1")
                    {
                        problems.Add($"job '{name}' runs {script} without {@switch}: \"1\", so it would build again");
                    }

                    if (!Needs(job!).Contains(BuildJob) || !steps.Any(s => Uses(s, "actions/download-artifact") && (string?)s["with"]?["name"] == Artifact))
                    {
                        problems.Add($"job '{name}' runs {script} without needing job '{BuildJob}' and downloading its artifact '{Artifact}'");
                    }
                }
            }
        }

        return problems;
    }

    private static string Run(JsonObject step) => (string?)step["run"] ?? string.Empty;

    private static bool Uses(JsonObject step, string action) => ((string?)step["uses"])?.StartsWith(action + "@", StringComparison.Ordinal) == true;

    private static List<string> Needs(JsonNode job) => job["needs"] switch
    {
        JsonArray list => [.. list.Select(n => (string?)n ?? string.Empty)],
        JsonValue one => [(string?)one ?? string.Empty],
        _ => [],
    };
}
