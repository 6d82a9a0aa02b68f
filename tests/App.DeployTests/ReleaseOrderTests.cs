using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using App.Testing;

namespace App.DeployTests;

/// <summary>
/// The order in which deploy/k8s/deploy.sh applies a release, against a kubectl that records what it is asked (no
/// cluster here) and renders with the real one: every object is applied, what the migration reads before it, the
/// migration alone and before anything that runs the new code, and the workloads and the scheduled trace retention
/// only once the migration is complete.
/// </summary>
public partial class ReleaseOrderTests : IDisposable
{
    private const string Digest = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    private readonly string _dir = Directory.CreateTempSubdirectory("release-order-").FullName;

    [Fact]
    public async Task TheRetentionAndTheWorkloadsAreAppliedOnlyAfterTheMigrationCompletes()
    {
        var (exitCode, _, stderr) = await ReleaseAsync();

        Assert.True(exitCode == 0, stderr);
        var calls = File.ReadAllLines(Path.Combine(_dir, "calls"));
        var objects = YamlJson.Documents(await File.ReadAllTextAsync(Path.Combine(_dir, "manifests.yaml")));
        var migrated = Array.FindIndex(calls, c => c.StartsWith("-n app get job app-migrate", StringComparison.Ordinal));
        Assert.True(migrated > 0, string.Join('\n', calls));
        var applies = calls.Select((call, index) => (Match: ApplyBySelector().Match(call), Index: index))
            .Where(a => a.Match.Success)
            .Select(a => (Selector: a.Match.Groups["selector"].Value, a.Index))
            .ToList();
        List<string> Applied(Func<int, bool> when) =>
            [.. objects.Where(o => applies.Any(a => when(a.Index) && Selects(a.Selector, Labels(o)))).Select(Manifests.Id).Order(StringComparer.Ordinal)];

        var before = Applied(i => i < migrated);
        var after = Applied(i => i > migrated);
        Assert.Equal(objects.Select(Manifests.Id).Order(StringComparer.Ordinal), before.Union(after).Order(StringComparer.Ordinal));
        Assert.Equal(["Job/app-migrate", "NetworkPolicy/app-migrate"], before.Where(id => Component(objects, id) is "migration"));
        Assert.DoesNotContain(before, id => Component(objects, id) is "api" or "worker" or "maintenance");
        Assert.Contains(before, id => id.StartsWith("ConfigMap/app-config-", StringComparison.Ordinal));
        Assert.Contains("ExternalSecret/app-migrations", before);
        Assert.Contains("CronJob/app-traces-retention", after);
        Assert.Contains("NetworkPolicy/app-traces-retention", after);
        Assert.DoesNotContain("Job/app-migrate", after);
    }

    public void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        GC.SuppressFinalize(this);
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> ReleaseAsync()
    {
        var (found, kubectl, _) = await Tool.RunAsync("bash", ["-c", "command -v kubectl"]);
        Assert.Equal(0, found);
        var stub = Path.Combine(_dir, "bin", "kubectl");
        Directory.CreateDirectory(Path.GetDirectoryName(stub)!);
        await File.WriteAllTextAsync(stub, $$"""
            #!/usr/bin/env bash
            # Renders with the real kubectl; records every other call, keeps what is applied, and reports the Job complete.
            [ "$1" = kustomize ] && exec '{{kubectl.Trim()}}' "$@"
            printf '%s\n' "$*" >> '{{_dir}}/calls'
            case "$*" in
              apply\ -f\ -*) cat > /dev/null ;;
              apply\ -f\ *) cp "$3" '{{_dir}}/manifests.yaml' ;;
              *get\ job*) printf 'Complete ' ;;
            esac
            exit 0
            """);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(stub, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var path = $"{Path.GetDirectoryName(stub)}:{Environment.GetEnvironmentVariable("PATH")}";
        return await Tool.RunAsync("bash", ["deploy/k8s/deploy.sh", "prod", "--image", $"ghcr.io/acme/app-api@{Digest}"], environment: new Dictionary<string, string> { ["PATH"] = path });
    }

    private static string? Component(IEnumerable<JsonObject> objects, string id) =>
        Labels(objects.Single(o => Manifests.Id(o) == id)).GetValueOrDefault("app.kubernetes.io/component");

    private static Dictionary<string, string> Labels(JsonObject o) =>
        o["metadata"]?["labels"]?.AsObject().ToDictionary(l => l.Key, l => (string?)l.Value ?? "") ?? [];

    /// <summary>A label selector of the forms deploy.sh uses: <c>k=v</c>, <c>k!=v</c>, <c>k in (a,b)</c>, <c>k notin (a,b)</c>.</summary>
    private static bool Selects(string selector, Dictionary<string, string> labels) =>
        RequirementSeparator().Split(selector).All(requirement =>
        {
            var set = SetRequirement().Match(requirement.Trim());
            if (set.Success)
            {
                var values = set.Groups["values"].Value.Split(',').Select(v => v.Trim());
                var has = labels.TryGetValue(set.Groups["key"].Value, out var value) && values.Contains(value);
                return set.Groups["op"].Value == "in" ? has : !has;
            }

            var equality = EqualityRequirement().Match(requirement.Trim());
            Assert.True(equality.Success, $"a selector deploy.sh does not use: {requirement}");
            var equal = labels.GetValueOrDefault(equality.Groups["key"].Value) == equality.Groups["value"].Value;
            return equality.Groups["op"].Value == "!=" ? !equal : equal;
        });

    [GeneratedRegex(@"^apply -f \S+ -l (?<selector>.+)$")]
    private static partial Regex ApplyBySelector();

    [GeneratedRegex(@",(?![^()]*\))")]
    private static partial Regex RequirementSeparator();

    [GeneratedRegex(@"^(?<key>\S+) (?<op>in|notin) \((?<values>[^)]*)\)$")]
    private static partial Regex SetRequirement();

    [GeneratedRegex(@"^(?<key>[^!=\s]+)(?<op>!=|==|=)(?<value>.*)$")]
    private static partial Regex EqualityRequirement();
}
