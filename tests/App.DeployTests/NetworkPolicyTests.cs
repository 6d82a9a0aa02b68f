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

    [Theory]
    [InlineData("app-migrate")]
    [InlineData("app-traces-retention")]
    public async Task TheSchemaOwnersPodsReachOnlyPostgresAndDnsAndNothingReachesThem(string name)
    {
        var policy = (await Manifests.ObjectsAsync("prod")).Named("NetworkPolicy", name);

        Assert.Null(policy["spec"]!["ingress"]);
        var ports = policy["spec"]!["egress"].Objects().SelectMany(r => r["ports"].Objects()).Select(p => (long)p["port"]!).Distinct().Order();
        Assert.Equal([53L, 5432L], ports);
    }

    [Theory]
    [InlineData("10.20.30.40/32", 5432)]
    [InlineData("10.20.30.0/24", 6379)]
    [InlineData("fd00:10::/64", 5432)]
    public async Task AManagedDatabaseOrRedisMayBeASmallAddressRange(string cidr, int port)
    {
        var objects = (await Manifests.ObjectsAsync("prod")).ToList();
        objects.Named("NetworkPolicy", "app-api")["spec"]!["egress"]!.AsArray().Add(IpBlock(cidr, port));

        Assert.Empty(NetworkPolicyChecks.Problems(objects));
    }

    public static readonly TheoryData<string, string> Defects = new()
    {
        { "no default deny", "no NetworkPolicy denies all ingress and egress of every pod (empty podSelector, both policyTypes, no rules)" },
        { "worker policy removed", "Deployment/app-worker: no NetworkPolicy of its own selects its pods" },
        { "ingress from anywhere", "NetworkPolicy/app-api: an ingress rule admits more than named namespaces" },
        { "egress to SSH", "NetworkPolicy/app-worker: an egress rule allows ports [22], beyond 5432, 6379, 53, 443" },
        { "metadata endpoint reachable", "NetworkPolicy/app-api: HTTPS to 0.0.0.0/0 does not except 169.254.0.0/16" },
        { "the internet in two halves", "NetworkPolicy/app-api: HTTPS to 0.0.0.0/1 does not except 10.0.0.0/8, 100.64.0.0/10" },
        { "a wide range for PostgreSQL", "NetworkPolicy/app-worker: an address range (10.0.0.0/16) is allowed on ports [5432] wider than a /24" },
        { "egress to every destination", "NetworkPolicy/app-migrate: an egress rule allows every destination" },
        { "trace retention policy removed", "CronJob/app-traces-retention: no NetworkPolicy of its own selects its pods" },
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
            case "the internet in two halves":
                objects.Named("NetworkPolicy", "app-api")["spec"]!["egress"]![2]!["to"] = new JsonArray(IpBlock("0.0.0.0/1", 443)["to"]![0]!.DeepClone(), IpBlock("128.0.0.0/1", 443)["to"]![0]!.DeepClone());
                break;
            case "a wide range for PostgreSQL": objects.Named("NetworkPolicy", "app-worker")["spec"]!["egress"]!.AsArray().Add(IpBlock("10.0.0.0/16", 5432)); break;
            case "egress to every destination": objects.Named("NetworkPolicy", "app-migrate")["spec"]!["egress"]![0]!.AsObject().Remove("to"); break;
            case "trace retention policy removed": objects.Remove(objects.Named("NetworkPolicy", "app-traces-retention")); break;
            default: throw new ArgumentOutOfRangeException(nameof(defect), defect, null);
        }

        Assert.Contains(expected, NetworkPolicyChecks.Problems(objects));
    }

    private static JsonObject IpBlock(string cidr, int port) => new()
    {
        ["ports"] = new JsonArray(new JsonObject { ["port"] = port, ["protocol"] = "TCP" }),
        ["to"] = new JsonArray(new JsonObject { ["ipBlock"] = new JsonObject { ["cidr"] = cidr } }),
    };
}
