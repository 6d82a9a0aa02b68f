using YamlDotNet.RepresentationModel;

namespace App.DeployTests.Policies;

/// <summary>
/// The admission policies as a cluster installs them: each workload policy matches every kind that carries a pod
/// template, each policy is bound with the Deny action and fails closed, and each has fixtures.
/// </summary>
public class PolicyDefinitionTests
{
    private static readonly string[] WorkloadResources =
    [
        "/pods", "apps/deployments", "apps/statefulsets", "apps/daemonsets", "batch/jobs", "batch/cronjobs", "argoproj.io/rollouts",
    ];

    public static TheoryData<string> PolicyFiles() =>
        [.. Directory.GetFiles(Path.Combine(PolicyGate.PoliciesDir, "admission"), "*.yaml").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(PolicyFiles))]
    public void PolicyIsBoundToDenyFailsClosedAndHasFixtures(string file)
    {
        var documents = Load(file);
        var policy = Assert.Single(documents, d => Scalar(d, "kind") == "ValidatingAdmissionPolicy");
        var binding = Assert.Single(documents, d => Scalar(d, "kind") == "ValidatingAdmissionPolicyBinding");
        var name = Scalar(Child(policy, "metadata"), "name");

        Assert.Equal(Path.GetFileNameWithoutExtension(file), name);
        Assert.Equal("Fail", Scalar(Child(policy, "spec"), "failurePolicy"));
        Assert.Equal(name, Scalar(Child(binding, "spec"), "policyName"));
        Assert.Contains("Deny", Strings(Child(binding, "spec"), "validationActions"));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(PolicyGate.PoliciesDir, "tests", "refuse", name!), "*.yaml"));
    }

    [Theory]
    [MemberData(nameof(PolicyFiles))]
    public void AWorkloadPolicyMatchesEveryKindWithAPodTemplate(string file)
    {
        var policy = Load(file).Single(d => Scalar(d, "kind") == "ValidatingAdmissionPolicy");
        var rules = (YamlSequenceNode)Child(Child(Child(policy, "spec"), "matchConstraints"), "resourceRules");
        var matched = rules.Children.Cast<YamlMappingNode>()
            .SelectMany(rule => Strings(rule, "apiGroups").SelectMany(group => Strings(rule, "resources").Select(r => $"{group}/{r}")))
            .ToHashSet(StringComparer.Ordinal);

        if (matched.Overlaps(WorkloadResources))
        {
            Assert.Superset(WorkloadResources.ToHashSet(StringComparer.Ordinal), matched);
        }
        else
        {
            Assert.Equal(["/secrets"], matched);
        }
    }

    private static List<YamlMappingNode> Load(string file)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(Path.Combine(PolicyGate.PoliciesDir, "admission", file));
        stream.Load(reader);
        return [.. stream.Documents.Select(d => (YamlMappingNode)d.RootNode)];
    }

    private static YamlNode Child(YamlNode node, string key) =>
        ((YamlMappingNode)node).Children.TryGetValue(new YamlScalarNode(key), out var child)
            ? child
            : throw new KeyNotFoundException($"no '{key}' in {node.Start}");

    private static string? Scalar(YamlNode node, string key) => ((YamlScalarNode)Child(node, key)).Value;

    private static IEnumerable<string> Strings(YamlNode node, string key) =>
        ((YamlSequenceNode)Child(node, key)).Children.Select(c => ((YamlScalarNode)c).Value ?? "");
}
