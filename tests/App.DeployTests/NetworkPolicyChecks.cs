using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace App.DeployTests;

/// <summary>
/// The network as the manifests close it: a default deny of both directions for the whole namespace; every workload's
/// pods selected by a policy of their own; ingress only from named namespaces (the Gateway's data plane, Prometheus),
/// never from an address range or from anywhere; egress only to the ports of PostgreSQL, Redis, DNS and HTTPS; an
/// address range only for HTTPS to public addresses (the private, link-local and shared ranges excepted, however the
/// internet is cut into ranges) or for PostgreSQL and Redis at a /24 or narrower (a managed service).
/// </summary>
internal static class NetworkPolicyChecks
{
    public static readonly long[] EgressPorts = [5432, 6379, 53, 443];

    public static readonly string[] ExceptedRanges = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"];

    public static readonly string[] ExceptedRangesV6 = ["fc00::/7"];

    private static readonly long[] DataPorts = [5432, 6379];

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
                IpBlock(id, block, ports, problems);
            }
        }
    }

    /// <summary>
    /// An address range is HTTPS to public addresses, or PostgreSQL and Redis at one small range (a managed service);
    /// a range wider than a /8 counts as the internet, however it is cut (0.0.0.0/1 and 128.0.0.0/1 are all of it).
    /// </summary>
    private static void IpBlock(string id, JsonObject block, List<long> ports, List<string> problems)
    {
        var cidr = (string?)block["cidr"] ?? "";
        if (!IPNetwork.TryParse(cidr, out var range))
        {
            problems.Add($"{id}: '{cidr}' is not an address range");
            return;
        }

        var v4 = range.BaseAddress.AddressFamily == AddressFamily.InterNetwork;
        if (ports.Count > 0 && ports.All(DataPorts.Contains))
        {
            if (range.PrefixLength < (v4 ? 24 : 64))
            {
                problems.Add($"{id}: an address range ({cidr}) is allowed on ports [{string.Join(", ", ports)}] wider than a {(v4 ? "/24" : "/64")}");
            }

            return;
        }

        if (!ports.SequenceEqual([443L]))
        {
            problems.Add($"{id}: an address range ({cidr}) is allowed on ports [{string.Join(", ", ports)}]: only HTTPS, or PostgreSQL and Redis at a small range");
        }

        if (range.PrefixLength >= 8)
        {
            return;
        }

        var except = block["except"].Strings().Select(e => IPNetwork.TryParse(e, out var n) ? n : (IPNetwork?)null).OfType<IPNetwork>().ToList();
        var missing = (v4 ? ExceptedRanges : ExceptedRangesV6)
            .Select(r => IPNetwork.Parse(r))
            .Where(r => r.BaseAddress.AddressFamily == range.BaseAddress.AddressFamily && range.Contains(r.BaseAddress) && r.PrefixLength >= range.PrefixLength)
            .Where(r => !except.Any(e => e.BaseAddress.AddressFamily == r.BaseAddress.AddressFamily && e.Contains(r.BaseAddress) && e.PrefixLength <= r.PrefixLength))
            .Select(r => r.ToString())
            .ToList();
        if (missing.Count > 0)
        {
            problems.Add($"{id}: HTTPS to {cidr} does not except {string.Join(", ", missing)}");
        }
    }
}
