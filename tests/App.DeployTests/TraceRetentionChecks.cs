using System.Text.Json.Nodes;

namespace App.DeployTests;

/// <summary>
/// The trace retention as the manifests schedule it: a CronJob that runs <c>traces-retention</c> once a day in UTC,
/// never two runs at once, with the schema owner's credentials and no other Secret, the API's image as rendered, and
/// the network of the migration Job (the same egress, no ingress); it and the migration Job, which drops the months
/// past the retention too, read the API's ConfigMap, which Argo CD syncs before the migration's hook.
/// Each problem is one line naming the object and what is wrong.
/// </summary>
internal static class TraceRetentionChecks
{
    public const string Name = "app-traces-retention";

    public const string Command = "traces-retention";

    public static IReadOnlyList<string> Problems(IReadOnlyList<JsonObject> objects)
    {
        var cronJob = objects.OfKind("CronJob").FirstOrDefault(o => Manifests.Name(o) == Name);
        if (cronJob is null)
        {
            return [$"no CronJob {Name}: traces past Traces:Retention are never dropped and no month is made ahead"];
        }

        var problems = new List<string>();
        var retention = objects.Workloads().Single(w => w.Owner == cronJob);
        Schedule(retention, problems);
        var apiImages = objects.Workloads().Where(w => w.Kind == "Rollout").SelectMany(w => w.Containers).Select(c => (string?)c["image"]).Distinct().ToList();
        var ownerSecrets = SecretChecks.OwnerSecrets(objects);
        foreach (var container in retention.Containers)
        {
            var id = $"{retention.Id} container {container["name"]}";
            var args = container["args"].Strings().ToList();
            if (!args.SequenceEqual([Command]) || container["command"] is not null)
            {
                problems.Add($"{id}: runs [{string.Join(", ", args)}], not [{Command}]");
            }

            var read = SecretChecks.SecretsRead(container);
            if (!read.Any(ownerSecrets.Contains))
            {
                problems.Add($"{id}: does not read the schema owner's credentials ({SecretChecks.OwnerKey})");
            }

            foreach (var other in read.Where(n => !ownerSecrets.Contains(n)).Distinct())
            {
                problems.Add($"{id}: reads Secret {other}, beyond the schema owner's credentials");
            }

            var image = (string?)container["image"];
            if (apiImages.Count != 1 || apiImages[0] != image)
            {
                problems.Add($"{id}: image '{image}' is not the API Rollout's ('{string.Join("', '", apiImages)}')");
            }
        }

        var migration = objects.Workloads().FirstOrDefault(w => w.Kind == "Job" && w.Containers.Any(c => c["args"].Strings().FirstOrDefault() == "migrate"));
        if (migration is null)
        {
            problems.Add("no migration Job to compare the trace retention with");
            return problems;
        }

        Settings(objects, [retention, migration], problems);
        Network(objects, retention, migration, problems);
        return problems;
    }

    /// <summary>Both read the Traces__Retention the API is given, and the migration's hook finds it synced.</summary>
    private static void Settings(IReadOnlyList<JsonObject> objects, Workload[] dropping, List<string> problems)
    {
        var apiConfigMaps = objects.Workloads().Where(w => w.Kind == "Rollout").SelectMany(w => w.Containers).SelectMany(ConfigMapsRead).ToHashSet();
        foreach (var workload in dropping)
        {
            foreach (var container in workload.Containers)
            {
                var missing = apiConfigMaps.Except(ConfigMapsRead(container)).ToList();
                if (missing.Count > 0)
                {
                    problems.Add($"{workload.Id} container {container["name"]}: does not read the API's ConfigMap {string.Join(", ", missing)} (its Traces__Retention)");
                }
            }
        }

        var hookWave = Wave(dropping[1].Owner);
        foreach (var configMap in objects.OfKind("ConfigMap").Where(c => apiConfigMaps.Contains(Manifests.Name(c))))
        {
            if (Wave(configMap) >= hookWave)
            {
                problems.Add($"{Manifests.Id(configMap)}: in sync wave {Wave(configMap)}, not before the migration's ({hookWave}), which reads it");
            }
        }
    }

    private static IEnumerable<string> ConfigMapsRead(JsonObject container) =>
        container["envFrom"].Objects().Select(e => (string?)e["configMapRef"]?["name"]).OfType<string>();

    private static int Wave(JsonObject o) =>
        int.TryParse((string?)o["metadata"]?["annotations"]?["argocd.argoproj.io/sync-wave"], out var wave) ? wave : 0;

    private static void Schedule(Workload retention, List<string> problems)
    {
        var spec = retention.Owner["spec"]!;
        var id = retention.Id;
        var fields = ((string?)spec["schedule"] ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 5 || !fields[..2].All(f => f.All(char.IsAsciiDigit)) || !fields[2..].All(f => f == "*"))
        {
            problems.Add($"{id}: schedule '{spec["schedule"]}' is not once a day");
        }

        if ((string?)spec["timeZone"] != "Etc/UTC")
        {
            problems.Add($"{id}: timeZone '{spec["timeZone"]}' is not Etc/UTC (the partitions are UTC months)");
        }

        var concurrency = (string?)spec["concurrencyPolicy"] ?? "Allow";
        if (concurrency != "Forbid")
        {
            problems.Add($"{id}: concurrencyPolicy is {concurrency}, not Forbid (two runs would make and drop the same partitions at once)");
        }
    }

    /// <summary>The policies that select the CronJob's pods open what those of the migration's pods open, and no more.</summary>
    private static void Network(IReadOnlyList<JsonObject> objects, Workload retention, Workload migration, List<string> problems)
    {
        var (retentionIngress, retentionEgress) = Rules(objects, retention);
        var (migrationIngress, migrationEgress) = Rules(objects, migration);
        if (!JsonNode.DeepEquals(retentionEgress, migrationEgress))
        {
            problems.Add($"{retention.Id}: its NetworkPolicies allow the egress {retentionEgress.ToJsonString()}, not the migration's {migrationEgress.ToJsonString()}");
        }

        if (!JsonNode.DeepEquals(retentionIngress, migrationIngress))
        {
            problems.Add($"{retention.Id}: its NetworkPolicies allow the ingress {retentionIngress.ToJsonString()}, not the migration's {migrationIngress.ToJsonString()}");
        }
    }

    private static (JsonArray Ingress, JsonArray Egress) Rules(IReadOnlyList<JsonObject> objects, Workload workload)
    {
        var selecting = objects.OfKind("NetworkPolicy")
            .Where(p => p["spec"]?["podSelector"] is JsonObject { Count: > 0 } selector && CanaryChecks.Selects(selector, workload.Labels))
            .ToList();
        return (
            new JsonArray([.. selecting.SelectMany(p => p["spec"]?["ingress"].Objects() ?? []).Select(r => r.DeepClone())]),
            new JsonArray([.. selecting.SelectMany(p => p["spec"]?["egress"].Objects() ?? []).Select(r => r.DeepClone())]));
    }
}
