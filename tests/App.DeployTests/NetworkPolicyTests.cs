using System.Text.Json.Nodes;

namespace App.DeployTests;

/// <summary>
/// The namespace's network is closed by default and opened per workload only as far as it needs
/// (<see cref="NetworkPolicyChecks"/>); each check fails on the defect it looks for.
/// </summary>
public class NetworkPolicyTests
{
    [Theory]
    [MemberData(nameof(Manifests.Overlays), MemberType = typeof(Manifests))]
    public async Task EveryWorkloadIsClosedByDefaultAndOpenedOnlyAsFarAsItNeeds(string overlay)
    {
        var objects = await Manifests.ObjectsAsync(overlay);

        Assert.Empty(NetworkPolicyChecks.Problems(objects));
    }

    [Fact]
    public async Task TheMigrationReachesOnlyPostgresAndDnsAndNothingReachesIt()
    {
        var policy = (await Manifests.ObjectsAsync("prod")).Named("NetworkPolicy", "app-migrate");

        Assert.Null(policy["spec"]!["ingress"]);
        var ports = policy["spec"]!["egress"].Objects().SelectMany(r => r["ports"].Objects()).Select(p => (long)p["port"]!).Distinct().Order();
        Assert.Equal([53L, 5432L], ports);
    }

    public static readonly TheoryData<string, string> Defects = new()
    {
        { "no default deny", "no NetworkPolicy denies all ingress and egress of every pod (empty podSelector, both policyTypes, no rules)" },
        { "worker policy removed", "Deployment/app-worker: no NetworkPolicy of its own selects its pods" },
        { "ingress from anywhere", "NetworkPolicy/app-api: an ingress rule admits more than named namespaces" },
        { "egress to SSH", "NetworkPolicy/app-worker: an egress rule allows ports [22], beyond 5432, 6379, 53, 443" },
        { "metadata endpoint reachable", "NetworkPolicy/app-api: HTTPS to 0.0.0.0/0 does not except 169.254.0.0/16" },
        { "egress to every destination", "NetworkPolicy/app-migrate: an egress rule allows every destination" },
    };

    [Theory]
    [MemberData(nameof(Defects))]
    public async Task EachPlantedDefectIsFound(string defect, string expected)
    {
        var objects = (await Manifests.ObjectsAsync("dev")).ToList();

        switch (defect)
        {
            case "no default deny": objects.Remove(objects.Named("NetworkPolicy", "default-deny")); break;
            case "worker policy removed": objects.Remove(objects.Named("NetworkPolicy", "app-worker")); break;
            case "ingress from anywhere": objects.Named("NetworkPolicy", "app-api")["spec"]!["ingress"]![0]!["from"] = new JsonArray(); break;
            case "egress to SSH": objects.Named("NetworkPolicy", "app-worker")["spec"]!["egress"]!.AsArray().Add(new JsonObject { ["ports"] = new JsonArray(new JsonObject { ["port"] = 22 }), ["to"] = new JsonArray(new JsonObject { ["ipBlock"] = new JsonObject { ["cidr"] = "10.0.0.5/32" } }) }); break;
            case "metadata endpoint reachable": objects.Named("NetworkPolicy", "app-api")["spec"]!["egress"]![2]!["to"]![0]!["ipBlock"]!["except"]!.AsArray().RemoveAll(r => (string?)r == "169.254.0.0/16"); break;
            case "egress to every destination": objects.Named("NetworkPolicy", "app-migrate")["spec"]!["egress"]![0]!.AsObject().Remove("to"); break;
            default: throw new ArgumentOutOfRangeException(nameof(defect), defect, null);
        }

        Assert.Contains(expected, NetworkPolicyChecks.Problems(objects));
    }
}
