using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace App.DeployTests;

/// <summary>
/// What every pod of the rendered manifests must have that the schemas cannot say: an identity without a token,
/// non-root with a read-only root filesystem and no privileges, writable temp dirs on emptyDir volumes, requests and
/// limits, probes on the management listener and a preStop sleep within the grace period for what runs until stopped,
/// and an image by tag or digest, never latest; a Job, or a CronJob's job, ends: it retries a bounded number of times
/// within a deadline.
/// Each problem is one line naming the object and what is wrong.
/// </summary>
internal static class WorkloadChecks
{
    public const string ManagementPort = "management";

    public static IReadOnlyList<string> Problems(IReadOnlyList<JsonObject> objects, bool requireDigest)
    {
        var problems = new List<string>();
        var workloads = objects.Workloads().ToList();
        if (workloads.Count == 0)
        {
            problems.Add("no workload rendered");
        }

        foreach (var workload in workloads)
        {
            Pod(objects, workload, problems);
            foreach (var container in workload.Containers)
            {
                Container(workload, container, problems, requireDigest);
            }
        }

        return problems;
    }

    private static void Pod(IReadOnlyList<JsonObject> objects, Workload workload, List<string> problems)
    {
        var pod = workload.Pod;
        var id = workload.Id;
        if ((bool?)pod["automountServiceAccountToken"] != false)
        {
            problems.Add($"{id}: automountServiceAccountToken is not false");
        }

        var account = (string?)pod["serviceAccountName"];
        if (account is null || !objects.OfKind("ServiceAccount").Any(a => Manifests.Name(a) == account))
        {
            problems.Add($"{id}: serviceAccountName '{account}' is not a ServiceAccount of the manifests");
        }

        foreach (var host in new[] { "hostNetwork", "hostPID", "hostIPC" })
        {
            if ((bool?)pod[host] == true)
            {
                problems.Add($"{id}: {host} is true");
            }
        }

        var security = pod["securityContext"];
        if ((bool?)security?["runAsNonRoot"] != true)
        {
            problems.Add($"{id}: pod securityContext.runAsNonRoot is not true");
        }

        foreach (var key in new[] { "runAsUser", "runAsGroup" })
        {
            if (security?[key].Integer() is not > 0)
            {
                problems.Add($"{id}: pod securityContext.{key} is not a non-zero id");
            }
        }

        if ((string?)security?["seccompProfile"]?["type"] != "RuntimeDefault")
        {
            problems.Add($"{id}: pod securityContext.seccompProfile.type is not RuntimeDefault");
        }

        foreach (var volume in pod["volumes"].Objects())
        {
            if (volume["hostPath"] is not null)
            {
                problems.Add($"{id}: volume {volume["name"]} is a hostPath");
            }
        }

        if (workload.IsService)
        {
            return;
        }

        if ((string?)pod["restartPolicy"] is not ("Never" or "OnFailure"))
        {
            problems.Add($"{id}: a Job's restartPolicy must be Never or OnFailure");
        }

        if (workload.JobSpec?["backoffLimit"] is null || workload.JobSpec?["activeDeadlineSeconds"] is null)
        {
            problems.Add($"{id}: a Job needs backoffLimit and activeDeadlineSeconds");
        }
    }

    private static void Container(Workload workload, JsonObject container, List<string> problems, bool requireDigest)
    {
        var id = $"{workload.Id} container {container["name"]}";
        var security = container["securityContext"];
        Expect(security?["allowPrivilegeEscalation"], false, $"{id}: allowPrivilegeEscalation is not false", problems);
        Expect(security?["readOnlyRootFilesystem"], true, $"{id}: readOnlyRootFilesystem is not true", problems);
        Expect(security?["runAsNonRoot"], true, $"{id}: runAsNonRoot is not true", problems);
        if ((bool?)security?["privileged"] == true)
        {
            problems.Add($"{id}: privileged");
        }

        if (!security?["capabilities"]?["drop"].Strings().Contains("ALL") ?? true)
        {
            problems.Add($"{id}: capabilities do not drop ALL");
        }

        if (security?["capabilities"]?["add"].Strings().Any() ?? false)
        {
            problems.Add($"{id}: capabilities are added");
        }

        if ((string?)security?["seccompProfile"]?["type"] != "RuntimeDefault")
        {
            problems.Add($"{id}: seccompProfile.type is not RuntimeDefault");
        }

        foreach (var kind in new[] { "requests", "limits" })
        {
            foreach (var resource in new[] { "cpu", "memory" })
            {
                if (container["resources"]?[kind]?[resource] is null)
                {
                    problems.Add($"{id}: no {kind}.{resource}");
                }
            }
        }

        var tmp = container["volumeMounts"].Objects().FirstOrDefault(m => (string?)m["mountPath"] == "/tmp");
        var tmpVolume = workload.Pod["volumes"].Objects().FirstOrDefault(v => tmp is not null && (string?)v["name"] == (string?)tmp["name"]);
        if (tmpVolume?["emptyDir"]?["sizeLimit"] is null)
        {
            problems.Add($"{id}: /tmp is not an emptyDir volume with a sizeLimit");
        }

        Image(id, (string?)container["image"] ?? "", requireDigest, problems);
        if (workload.IsService)
        {
            Probes(id, container, problems);
            PreStop(id, container, workload.Pod["terminationGracePeriodSeconds"].Integer() ?? 30, problems);
        }
    }

    private static void PreStop(string id, JsonObject container, long gracePeriod, List<string> problems)
    {
        var preStop = container["lifecycle"]?["preStop"];
        if (preStop?["exec"] is not null)
        {
            problems.Add($"{id}: preStop runs a command (the image has no shell; use the sleep action)");
        }

        var sleep = preStop?["sleep"]?["seconds"].Integer();
        if (sleep is not > 0)
        {
            problems.Add($"{id}: no preStop sleep (the pod would stop before it leaves the endpoints)");
        }
        else if (sleep >= gracePeriod)
        {
            problems.Add($"{id}: the preStop sleep ({sleep} s) does not end within terminationGracePeriodSeconds ({gracePeriod})");
        }
    }

    private static void Image(string id, string image, bool requireDigest, List<string> problems)
    {
        var at = image.IndexOf("@sha256:", StringComparison.Ordinal);
        var lastSegment = image[(image.LastIndexOf('/') + 1)..];
        var tag = at < 0 && lastSegment.Contains(':', StringComparison.Ordinal) ? lastSegment[(lastSegment.IndexOf(':', StringComparison.Ordinal) + 1)..] : null;
        if (!image.Contains('/', StringComparison.Ordinal))
        {
            problems.Add($"{id}: image '{image}' names no registry (the overlay's images: did not apply)");
        }

        if (at >= 0 && !Regex.IsMatch(image[(at + 8)..], "^[0-9a-f]{64}$"))
        {
            problems.Add($"{id}: image '{image}' has a malformed digest");
        }

        if (at < 0 && (tag is null || tag == "latest"))
        {
            problems.Add($"{id}: image '{image}' has neither a digest nor a tag other than latest");
        }

        if (requireDigest && at < 0)
        {
            problems.Add($"{id}: image '{image}' is not pinned by digest");
        }
    }

    private static void Probes(string id, JsonObject container, List<string> problems)
    {
        var management = container["ports"].Objects().FirstOrDefault(p => (string?)p["name"] == ManagementPort);
        if (management?["containerPort"].Integer() != 9464)
        {
            problems.Add($"{id}: no port '{ManagementPort}' (9464)");
        }

        foreach (var (probe, path) in new[] { ("startupProbe", "/health/live"), ("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready") })
        {
            var get = container[probe]?["httpGet"];
            if (get is null)
            {
                problems.Add($"{id}: no {probe} (httpGet)");
                continue;
            }

            if ((string?)get["path"] != path || (string?)get["port"] != ManagementPort)
            {
                problems.Add($"{id}: {probe} is not GET {path} on the '{ManagementPort}' port");
            }
        }
    }

    private static void Expect(JsonNode? node, bool expected, string problem, List<string> problems)
    {
        if (node is not JsonValue value || !value.TryGetValue<bool>(out var actual) || actual != expected)
        {
            problems.Add(problem);
        }
    }
}
