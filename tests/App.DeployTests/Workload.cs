using System.Text.Json.Nodes;

namespace App.DeployTests;

/// <summary>A workload and its pod template.</summary>
internal sealed record Workload(JsonObject Owner, JsonObject Template)
{
    public string Id => Manifests.Id(Owner);

    public string Kind => (string?)Owner["kind"] ?? "";

    /// <summary>Runs until stopped (probes and a disruption budget apply), unlike a Job.</summary>
    public bool IsService => Kind is not "Job";

    public JsonObject Pod => Template["spec"]!.AsObject();

    public IReadOnlyDictionary<string, string?> Labels =>
        Template["metadata"]?["labels"]?.AsObject().ToDictionary(l => l.Key, l => (string?)l.Value) ?? [];

    public IEnumerable<JsonObject> Containers => Pod["containers"].Objects().Concat(Pod["initContainers"].Objects());
}
