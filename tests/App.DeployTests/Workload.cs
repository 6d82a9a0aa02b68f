using System.Text.Json.Nodes;

namespace App.DeployTests;

/// <summary>A workload and its pod template.</summary>
internal sealed record Workload(JsonObject Owner, JsonObject Template)
{
    public string Id => Manifests.Id(Owner);

    public string Kind => (string?)Owner["kind"] ?? "";

    /// <summary>Runs until stopped (probes and a disruption budget apply), unlike a Job or a CronJob's runs.</summary>
    public bool IsService => Kind is not ("Job" or "CronJob");

    /// <summary>The spec of the Job that runs to completion (a CronJob's job template), or null for a service.</summary>
    public JsonObject? JobSpec => Kind switch
    {
        "Job" => Owner["spec"]?.AsObject(),
        "CronJob" => Owner["spec"]?["jobTemplate"]?["spec"]?.AsObject(),
        _ => null,
    };

    public JsonObject Pod => Template["spec"]!.AsObject();

    public IReadOnlyDictionary<string, string?> Labels =>
        Template["metadata"]?["labels"]?.AsObject().ToDictionary(l => l.Key, l => (string?)l.Value) ?? [];

    public IEnumerable<JsonObject> Containers => Pod["containers"].Objects().Concat(Pod["initContainers"].Objects());
}
