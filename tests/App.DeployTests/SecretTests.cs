using System.Text.Json.Nodes;

namespace App.DeployTests;

/// <summary>
/// No secret is in the manifests, what the pods read comes from the external store, and the schema owner's credentials
/// reach what runs to completion alone, never a service (<see cref="SecretChecks"/>); each check fails on the defect it
/// looks for.
/// </summary>
public class SecretTests
{
    [Theory]
    [MemberData(nameof(Manifests.Overlays), MemberType = typeof(Manifests))]
    public async Task SecretsComeFromTheStoreAndTheOwnerRoleOnlyToTheMigrationAndTheRetention(string overlay)
    {
        var objects = await Manifests.ObjectsAsync(overlay);
        var owners = SecretChecks.OwnerSecrets(objects);

        Assert.Empty(SecretChecks.Problems(objects));
        Assert.Equal(2, objects.OfKind("ExternalSecret").Count());
        Assert.Equal(
            ["CronJob/app-traces-retention", "Job/app-migrate"],
            objects.Workloads().Where(w => w.Containers.Any(c => SecretChecks.SecretsRead(c).Any(owners.Contains))).Select(w => w.Id).Order(StringComparer.Ordinal));
    }

    public static readonly TheoryData<string, string> Defects = new()
    {
        { "a Secret in git", "Secret/app-runtime: a Secret in the manifests (use an ExternalSecret)" },
        { "the API reads the owner's credentials", "Rollout/app-api container api: reads the schema owner's credentials (ConnectionStrings__PostgresMigrations)" },
        { "a secret from nowhere", "Deployment/app-worker container worker: reads Secret provider-keys, which no ExternalSecret provides" },
        { "a namespaced store", "ExternalSecret/app-runtime: does not read a named ClusterSecretStore" },
    };

    [Theory]
    [MemberData(nameof(Defects))]
    public async Task EachPlantedDefectIsFound(string defect, string expected)
    {
        var objects = (await Manifests.ObjectsAsync("dev")).ToList();
        var api = objects.Workloads().Single(w => w.Kind == "Rollout").Containers.Single();
        var worker = objects.Workloads().Single(w => w.Kind == "Deployment").Containers.Single();

        switch (defect)
        {
            case "a Secret in git": objects.Add(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Secret", ["metadata"] = new JsonObject { ["name"] = "app-runtime" } }); break;
            case "the API reads the owner's credentials": api["envFrom"]!.AsArray().Add(new JsonObject { ["secretRef"] = new JsonObject { ["name"] = "app-migrations" } }); break;
            case "a secret from nowhere": worker["envFrom"]!.AsArray().Add(new JsonObject { ["secretRef"] = new JsonObject { ["name"] = "provider-keys" } }); break;
            case "a namespaced store": objects.Named("ExternalSecret", "app-runtime")["spec"]!["secretStoreRef"]!["kind"] = "SecretStore"; break;
            default: throw new ArgumentOutOfRangeException(nameof(defect), defect, null);
        }

        Assert.Contains(expected, SecretChecks.Problems(objects));
    }
}
