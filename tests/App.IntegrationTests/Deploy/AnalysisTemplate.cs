using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace App.IntegrationTests.Deploy;

/// <summary>
/// An Argo Rollouts AnalysisTemplate as the repository holds it (deploy/k8s/base/analysis-template.yaml): its args with
/// their defaults and its Prometheus metrics, read from the YAML so that the canary test judges what a cluster would.
/// </summary>
public sealed partial class AnalysisTemplate
{
    private AnalysisTemplate(string name, IReadOnlyDictionary<string, string?> args, IReadOnlyList<AnalysisMetric> metrics)
    {
        Name = name;
        Args = args;
        Metrics = metrics;
    }

    public string Name { get; }

    /// <summary>Every arg the template declares, with its default value (null when the Rollout must pass it).</summary>
    public IReadOnlyDictionary<string, string?> Args { get; }

    public IReadOnlyList<AnalysisMetric> Metrics { get; }

    public static AnalysisTemplate Load(string path)
    {
        var yaml = new YamlStream();
        using (var reader = File.OpenText(path))
        {
            yaml.Load(reader);
        }

        var root = (YamlMappingNode)yaml.Documents.Single().RootNode;
        if (Text(root, "kind") != "AnalysisTemplate")
        {
            throw new InvalidDataException($"{path} holds a {Text(root, "kind")}, not an AnalysisTemplate");
        }

        var spec = Map(root, "spec");
        var args = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (YamlMappingNode arg in List(spec, "args"))
        {
            args[Text(arg, "name")!] = Text(arg, "value");
        }

        var metrics = new List<AnalysisMetric>();
        foreach (YamlMappingNode metric in List(spec, "metrics"))
        {
            var prometheus = Map(Map(metric, "provider"), "prometheus");
            metrics.Add(new AnalysisMetric(
                Text(metric, "name")!,
                Text(prometheus, "query") ?? throw new InvalidDataException($"metric {Text(metric, "name")} has no Prometheus query"),
                Text(metric, "successCondition"),
                Text(metric, "failureCondition"),
                Number(metric, "count", 1),
                Number(metric, "failureLimit", 0),
                Number(metric, "inconclusiveLimit", 0),
                Number(metric, "consecutiveErrorLimit", 4)));
        }

        return new AnalysisTemplate(Text(Map(root, "metadata"), "name")!, args, metrics);
    }

    /// <summary>
    /// The query with every <c>{{args.NAME}}</c> replaced, as the controller resolves it: a value given here, else the
    /// arg's default; an arg with neither, or a placeholder naming no declared arg, is an error.
    /// </summary>
    public string Resolve(AnalysisMetric metric, IReadOnlyDictionary<string, string> given)
    {
        ArgumentNullException.ThrowIfNull(metric);
        ArgumentNullException.ThrowIfNull(given);
        foreach (var name in given.Keys)
        {
            if (!Args.ContainsKey(name))
            {
                throw new ArgumentException($"the template declares no arg '{name}'", nameof(given));
            }
        }

        return Placeholder().Replace(metric.Query, m =>
        {
            var name = m.Groups["name"].Value;
            return given.TryGetValue(name, out var value) ? value
                : Args.TryGetValue(name, out var fallback) && fallback is not null ? fallback
                : throw new ArgumentException($"metric {metric.Name} needs arg '{name}', which has no default and was not given", nameof(given));
        });
    }

    private static YamlMappingNode Map(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) && child is YamlMappingNode map
            ? map
            : throw new InvalidDataException($"no mapping '{key}' at {node.Start}");

    private static YamlSequenceNode List(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) && child is YamlSequenceNode list
            ? list
            : throw new InvalidDataException($"no list '{key}' at {node.Start}");

    private static string? Text(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? ((YamlScalarNode)child).Value : null;

    private static int Number(YamlMappingNode node, string key, int fallback) =>
        Text(node, key) is { } text ? int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) : fallback;

    [GeneratedRegex(@"\{\{\s*args\.(?<name>[A-Za-z0-9_-]+)\s*\}\}")]
    private static partial Regex Placeholder();
}
