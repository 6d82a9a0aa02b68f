using System.Text.Json.Nodes;

namespace App.DeployTests;

/// <summary>
/// The network as the manifests close it: a default deny of both directions for the whole namespace; every workload's
/// pods selected by a policy of their own; ingress only from named namespaces (the Gateway's data plane, Prometheus),
/// never from an address range or from anywhere; egress only to the ports of PostgreSQL, Redis, DNS and HTTPS, and
/// HTTPS only to public addresses (the private, link-local and shared ranges excepted).
/// </summary>
internal static class NetworkPolicyChecks
{
    public static readonly long[] EgressPorts = [5432, 6379, 53, 443];

    public static readonly string[] ExceptedRanges = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"];

    public static IReadOnlyList<string> Problems(IReadOnlyList<JsonObject> objects)
    {
        var problems = new List<string>();
        var policies = objects.OfKind("NetworkPolicy").ToList();
        var denyAll = policies.Where(p =>
            p["spec"]?["podSelector"] is JsonObject { Count: 0 } &&
            p["spec"]?["policyTypes"].Strings().Order().SequenceEqual(["Egress", "Ingress"]) == true &&
            p["spec"]?["ingress"] is null && p["spec"]?["egress"] is null).ToList();
        if (denyAll.Count == 0)
        {
            problems.Add("no NetworkPolicy denies all ingress and egress of every pod (empty podSelector, both policyTypes, no rules)");
        }

        var own = policies.Except(denyAll).ToList();
        foreach (var workload in objects.Workloads())
        {
            var selecting = own.Where(p => CanaryChecks.Selects(p["spec"]?["podSelector"], workload.Labels)).ToList();
            if (selecting.Count == 0)
            {
                problems.Add($"{workload.Id}: no NetworkPolicy of its own selects its pods");
            }
        }

        foreach (var policy in own)
        {
            Rules(policy, problems);
        }

        return problems;
    }

    private static void Rules(JsonObject policy, List<string> problems)
    {
        var id = Manifests.Id(policy);
        var spec = policy["spec"]!;
        if (!spec["policyTypes"].Strings().Order().SequenceEqual(["Egress", "Ingress"]))
        {
            problems.Add($"{id}: policyTypes are not both Ingress and Egress");
        }

        foreach (var rule in spec["ingress"].Objects())
        {
            var peers = rule["from"].Objects().ToList();
            if (peers.Count == 0 || peers.Any(p => p["ipBlock"] is not null || p["namespaceSelector"]?["matchLabels"]?["kubernetes.io/metadata.name"] is null))
            {
                problems.Add($"{id}: an ingress rule admits more than named namespaces");
            }

            if (rule["ports"].Objects().Any() != true)
            {
                problems.Add($"{id}: an ingress rule admits every port");
            }
        }

        foreach (var rule in spec["egress"].Objects())
        {
            var ports = rule["ports"].Objects().Select(p => p["port"].Integer() ?? -1).ToList();
            if (ports.Count == 0 || ports.Any(p => !EgressPorts.Contains(p)))
            {
                problems.Add($"{id}: an egress rule allows ports [{string.Join(", ", ports)}], beyond {string.Join(", ", EgressPorts)}");
            }

            var peers = rule["to"].Objects().ToList();
            if (peers.Count == 0)
            {
                problems.Add($"{id}: an egress rule allows every destination");
            }

            foreach (var block in peers.Select(p => p["ipBlock"]).OfType<JsonObject>())
            {
                var cidr = (string?)block["cidr"] ?? "";
                var except = block["except"].Strings().ToHashSet();
                if (!ports.SequenceEqual([443L]))
                {
                    problems.Add($"{id}: an address range ({cidr}) is allowed for more than HTTPS");
                }

                if (cidr == "0.0.0.0/0" && ExceptedRanges.Any(r => !except.Contains(r)))
                {
                    problems.Add($"{id}: HTTPS to 0.0.0.0/0 does not except {string.Join(", ", ExceptedRanges.Where(r => !except.Contains(r)))}");
                }

                if (cidr == "::/0" && !except.Contains("fc00::/7"))
                {
                    problems.Add($"{id}: HTTPS to ::/0 does not except fc00::/7");
                }
            }
        }
    }
}
