using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using App.Testing;

namespace App.DeployTests;

/// <summary>The overlays as <c>kubectl kustomize</c> renders them, once per overlay and test run.</summary>
internal static class Manifests
{
    public static readonly TheoryData<string> Overlays = new("dev", "prod");

    private static readonly ConcurrentDictionary<string, Lazy<Task<string>>> Rendered = new();

    /// <summary>The rendered YAML of deploy/k8s/overlays/<paramref name="overlay"/>.</summary>
    public static Task<string> RenderAsync(string overlay) =>
        Rendered.GetOrAdd(overlay, o => new Lazy<Task<string>>(() => KustomizeAsync($"deploy/k8s/overlays/{o}"))).Value;

    /// <summary>The rendered objects, a copy of their own for each caller (tests change them to plant defects).</summary>
    public static async Task<IReadOnlyList<JsonObject>> ObjectsAsync(string overlay) => YamlJson.Documents(await RenderAsync(overlay));

    public static async Task<string> KustomizeAsync(string directory)
    {
        var (exitCode, stdout, stderr) = await Tool.RunAsync("kubectl", ["kustomize", directory]);
        return exitCode == 0
            ? stdout
            : throw new InvalidOperationException($"kubectl kustomize {directory} exited {exitCode}: {stderr}");
    }

    public static IEnumerable<JsonObject> OfKind(this IEnumerable<JsonObject> objects, string kind) =>
        objects.Where(o => (string?)o["kind"] == kind);

    public static JsonObject Named(this IEnumerable<JsonObject> objects, string kind, string name) =>
        objects.OfKind(kind).Single(o => Name(o) == name);

    public static string Name(JsonObject o) => (string?)o["metadata"]?["name"] ?? "?";

    public static string Id(JsonObject o) => $"{o["kind"]}/{Name(o)}";

    /// <summary>
    /// The pod templates of the workloads: every Rollout, Deployment, StatefulSet, DaemonSet, Job and CronJob (whose
    /// template is that of the Job it starts).
    /// </summary>
    public static IEnumerable<Workload> Workloads(this IEnumerable<JsonObject> objects) =>
        from o in objects
        let kind = (string?)o["kind"]
        where kind is "Rollout" or "Deployment" or "StatefulSet" or "DaemonSet" or "Job" or "CronJob"
        let spec = kind == "CronJob" ? o["spec"]?["jobTemplate"]?["spec"] : o["spec"]
        let template = spec?["template"]?.AsObject()
        where template is not null
        select new Workload(o, template);

    public static IEnumerable<JsonObject> Objects(this JsonNode? array) =>
        array is JsonArray items ? items.OfType<JsonObject>() : [];

    /// <summary>An integer value, whether parsed from YAML (long) or planted by a test (int); otherwise null.</summary>
    public static long? Integer(this JsonNode? node) =>
        node is not JsonValue value ? null
        : value.TryGetValue<long>(out var l) ? l
        : value.TryGetValue<int>(out var i) ? i
        : null;

    public static IEnumerable<string> Strings(this JsonNode? array) =>
        array is JsonArray items ? items.Select(i => (string?)i ?? "") : [];
}
