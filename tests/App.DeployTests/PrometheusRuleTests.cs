using System.Text.Json.Nodes;
using App.Testing;

namespace App.DeployTests;

/// <summary>
/// The PrometheusRule the overlays deploy holds exactly the groups of deploy/observability/prometheus/recording-rules.yml
/// and alerts.yml, the one source of the rules (promtool tests them there), and its generator agrees with the committed
/// file.
/// </summary>
public class PrometheusRuleTests
{
    private static readonly string[] RuleFiles =
    [
        "deploy/observability/prometheus/recording-rules.yml",
        "deploy/observability/prometheus/alerts.yml",
    ];

    [Theory]
    [MemberData(nameof(Manifests.Overlays), MemberType = typeof(Manifests))]
    public async Task ThePrometheusRuleHoldsExactlyTheGroupsOfTheRuleFiles(string overlay)
    {
        var rule = (await Manifests.ObjectsAsync(overlay)).Named("PrometheusRule", "app");

        var deployed = rule["spec"]!["groups"]!.AsArray();
        var files = new JsonArray([.. RuleFiles.SelectMany(f => YamlJson.Documents(Repository.Read(f)).Single()["groups"]!.AsArray()).Select(g => g!.DeepClone())]);

        Assert.True(files.Count > 0);
        Assert.Equal(files.Select(g => (string?)g!["name"]), deployed.Select(g => (string?)g!["name"]));
        Assert.True(JsonNode.DeepEquals(files, deployed), "the PrometheusRule's groups differ from the rule files: run node deploy/k8s/prometheus-rule.mjs");
    }

    [Fact]
    public async Task TheCommittedRuleIsWhatTheGeneratorWrites()
    {
        var (exitCode, stdout, stderr) = await Tool.RunAsync("node", ["deploy/k8s/prometheus-rule.mjs", "--check"]);

        Assert.True(exitCode == 0, stdout + stderr);
    }

    [Fact]
    public async Task AChangedRuleIsSeen()
    {
        var rule = (await Manifests.ObjectsAsync("dev")).Named("PrometheusRule", "app");
        var files = new JsonArray([.. RuleFiles.SelectMany(f => YamlJson.Documents(Repository.Read(f)).Single()["groups"]!.AsArray()).Select(g => g!.DeepClone())]);
        rule["spec"]!["groups"]![0]!["rules"]![0]!["expr"] = "vector(1)";

        Assert.False(JsonNode.DeepEquals(files, rule["spec"]!["groups"]));
    }
}
