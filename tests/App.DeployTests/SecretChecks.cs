using System.Text.Json.Nodes;

namespace App.DeployTests;

/// <summary>
/// Secrets stay out of git: no Secret object is rendered; every Secret a pod reads is the target of an ExternalSecret
/// that reads a ClusterSecretStore; the schema owner's credentials (ConnectionStrings__PostgresMigrations) reach what
/// runs to completion alone (the migration Job, the trace retention CronJob), never a service.
/// </summary>
internal static class SecretChecks
{
    public const string OwnerKey = "ConnectionStrings__PostgresMigrations";

    public static IReadOnlyList<string> Problems(IReadOnlyList<JsonObject> objects)
    {
        var problems = objects.OfKind("Secret").Select(s => $"{Manifests.Id(s)}: a Secret in the manifests (use an ExternalSecret)").ToList();
        var external = objects.OfKind("ExternalSecret").ToList();
        foreach (var secret in external)
        {
            if ((string?)secret["spec"]?["secretStoreRef"]?["kind"] != "ClusterSecretStore" || secret["spec"]?["secretStoreRef"]?["name"] is null)
            {
                problems.Add($"{Manifests.Id(secret)}: does not read a named ClusterSecretStore");
            }
        }

        var targets = external.ToDictionary(Target, e => e);
        var ownerSecrets = OwnerSecrets(objects);
        foreach (var workload in objects.Workloads())
        {
            foreach (var container in workload.Containers)
            {
                var read = SecretsRead(container);
                foreach (var name in read.Where(n => !targets.ContainsKey(n)))
                {
                    problems.Add($"{workload.Id} container {container["name"]}: reads Secret {name}, which no ExternalSecret provides");
                }

                if (workload.IsService && read.Any(ownerSecrets.Contains))
                {
                    problems.Add($"{workload.Id} container {container["name"]}: reads the schema owner's credentials ({OwnerKey})");
                }

                if (container["env"].Objects().Any(e => (string?)e["name"] == OwnerKey))
                {
                    problems.Add($"{workload.Id} container {container["name"]}: {OwnerKey} set in the manifest");
                }
            }
        }

        return problems;
    }

    /// <summary>The Secrets that carry the schema owner's credentials: the targets of the ExternalSecrets that copy them.</summary>
    public static IReadOnlySet<string> OwnerSecrets(IEnumerable<JsonObject> objects) =>
        objects.OfKind("ExternalSecret")
            .Where(e => e["spec"]?["data"].Objects().Any(d => (string?)d["secretKey"] == OwnerKey) == true)
            .Select(Target)
            .ToHashSet();

    /// <summary>The Secrets a container reads, whole or by key.</summary>
    public static IReadOnlyList<string> SecretsRead(JsonObject container) =>
        container["envFrom"].Objects().Select(e => (string?)e["secretRef"]?["name"])
            .Concat(container["env"].Objects().Select(e => (string?)e["valueFrom"]?["secretKeyRef"]?["name"]))
            .OfType<string>().ToList();

    private static string Target(JsonObject externalSecret) =>
        (string?)externalSecret["spec"]?["target"]?["name"] ?? Manifests.Name(externalSecret);
}
