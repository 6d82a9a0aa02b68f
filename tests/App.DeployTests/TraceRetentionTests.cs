using System.Text.Json.Nodes;

namespace App.DeployTests;

/// <summary>
/// Both overlays schedule the trace retention as <see cref="TraceRetentionChecks"/> says, and each check fails on a
/// copy of the rendered objects with the defect it looks for planted in it.
/// </summary>
public class TraceRetentionTests
{
    [Theory]
    [MemberData(nameof(Manifests.Overlays), MemberType = typeof(Manifests))]
    public async Task TheRetentionRunsDailyAsTheSchemaOwnerWithTheApisImage(string overlay)
    {
        var objects = await Manifests.ObjectsAsync(overlay);

        Assert.Empty(TraceRetentionChecks.Problems(objects));
        var retention = Assert.Single(objects.Workloads(), w => w.Kind == "CronJob");
        Assert.Equal($"CronJob/{TraceRetentionChecks.Name}", retention.Id);
        Assert.False(retention.IsService);
        Assert.Equal([TraceRetentionChecks.Command], Assert.Single(retention.Containers)["args"].Strings());
    }

    public static readonly TheoryData<string, string> Defects = new()
    {
        { "no CronJob", "no CronJob app-traces-retention: traces past Traces:Retention are never dropped and no month is made ahead" },
        { "another command", "CronJob/app-traces-retention container traces-retention: runs [migrate], not [traces-retention]" },
        { "the runtime secret as well", "CronJob/app-traces-retention container traces-retention: reads Secret app-runtime, beyond the schema owner's credentials" },
        { "the runtime secret instead", "CronJob/app-traces-retention container traces-retention: does not read the schema owner's credentials (ConnectionStrings__PostgresMigrations)" },
        { "runs concurrently", "CronJob/app-traces-retention: concurrencyPolicy is Allow, not Forbid (two runs would make and drop the same partitions at once)" },
        { "no concurrencyPolicy", "CronJob/app-traces-retention: concurrencyPolicy is Allow, not Forbid (two runs would make and drop the same partitions at once)" },
        { "every hour", "CronJob/app-traces-retention: schedule '17 * * * *' is not once a day" },
        { "the controller's time zone", "CronJob/app-traces-retention: timeZone '' is not Etc/UTC (the partitions are UTC months)" },
        { "an image the release does not set", "CronJob/app-traces-retention container traces-retention: image 'app-api' is not the API Rollout's ('ghcr.io/example/app-api@sha256:0000000000000000000000000000000000000000000000000000000000000000')" },
        { "Redis reachable", "CronJob/app-traces-retention: its NetworkPolicies allow the egress" },
        { "the default retention", "CronJob/app-traces-retention container traces-retention: does not read the API's ConfigMap app-config-" },
        { "the migration with the default retention", "Job/app-migrate container migrate: does not read the API's ConfigMap app-config-" },
        { "the settings synced after the migration", "ConfigMap/app-config-" },
    };

    [Theory]
    [MemberData(nameof(Defects))]
    public async Task EachPlantedDefectIsFound(string defect, string expected)
    {
        var objects = (await Manifests.ObjectsAsync("dev")).ToList();
        var retention = objects.Workloads().Single(w => w.Kind == "CronJob");
        var container = retention.Containers.Single();
        var spec = retention.Owner["spec"]!.AsObject();

        switch (defect)
        {
            case "no CronJob": objects.Remove(retention.Owner); break;
            case "another command": container["args"] = new JsonArray("migrate"); break;
            case "the runtime secret as well": container["envFrom"]!.AsArray().Add(SecretRef("app-runtime")); break;
            case "the runtime secret instead": container["envFrom"]!.AsArray().Objects().Single(e => e["secretRef"] is not null)["secretRef"]!["name"] = "app-runtime"; break;
            case "runs concurrently": spec["concurrencyPolicy"] = "Allow"; break;
            case "no concurrencyPolicy": spec.Remove("concurrencyPolicy"); break;
            case "every hour": spec["schedule"] = "17 * * * *"; break;
            case "the controller's time zone": spec.Remove("timeZone"); break;
            case "an image the release does not set": container["image"] = "app-api"; break;
            case "Redis reachable":
                objects.Named("NetworkPolicy", TraceRetentionChecks.Name)["spec"]!["egress"]![0]!["ports"]!.AsArray().Add(new JsonObject { ["port"] = 6379, ["protocol"] = "TCP" });
                break;
            case "the default retention": container["envFrom"]!.AsArray().RemoveAll(e => e!["configMapRef"] is not null); break;
            case "the migration with the default retention":
                objects.Workloads().Single(w => w.Kind == "Job").Containers.Single()["envFrom"]!.AsArray().RemoveAll(e => e!["configMapRef"] is not null);
                break;
            case "the settings synced after the migration": objects.OfKind("ConfigMap").Single()["metadata"]!["annotations"]!.AsObject().Remove("argocd.argoproj.io/sync-wave"); break;
            default: throw new ArgumentOutOfRangeException(nameof(defect), defect, null);
        }

        Assert.Contains(TraceRetentionChecks.Problems(objects), p => p.StartsWith(expected, StringComparison.Ordinal));
    }

    private static JsonObject SecretRef(string name) => new() { ["secretRef"] = new JsonObject { ["name"] = name } };
}
