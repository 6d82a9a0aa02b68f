using System.Text.Json.Nodes;

namespace App.DeployTests;

/// <summary>
/// Every pod of both overlays is hardened the same way (<see cref="WorkloadChecks"/>), and each check fails on a copy
/// of the rendered objects with the defect it looks for planted in it.
/// </summary>
public class WorkloadTests
{
    [Theory]
    [MemberData(nameof(Manifests.Overlays), MemberType = typeof(Manifests))]
    public async Task EveryPodRunsHardenedWithProbesAndLimits(string overlay)
    {
        var objects = await Manifests.ObjectsAsync(overlay);

        Assert.Empty(WorkloadChecks.Problems(objects, requireDigest: overlay == "prod"));
        Assert.Equal(["CronJob/app-traces-retention", "Deployment/app-worker", "Job/app-migrate", "Rollout/app-api"], objects.Workloads().Select(w => w.Id).Order(StringComparer.Ordinal));
    }

    public static readonly TheoryData<string, string> Defects = new()
    {
        { "no readiness probe on the API", "Rollout/app-api container api: no readinessProbe (httpGet)" },
        { "liveness probe on the public port", "Deployment/app-worker container worker: livenessProbe is not GET /health/live on the 'management' port" },
        { "no memory limit", "Job/app-migrate container migrate: no limits.memory" },
        { "writable root filesystem", "Rollout/app-api container api: readOnlyRootFilesystem is not true" },
        { "privilege escalation", "Deployment/app-worker container worker: allowPrivilegeEscalation is not false" },
        { "a capability added", "Rollout/app-api container api: capabilities are added" },
        { "runs as root", "Rollout/app-api: pod securityContext.runAsUser is not a non-zero id" },
        { "no seccomp profile", "Job/app-migrate: pod securityContext.seccompProfile.type is not RuntimeDefault" },
        { "service account token mounted", "Deployment/app-worker: automountServiceAccountToken is not false" },
        { "a hostPath volume", "Rollout/app-api: volume state is a hostPath" },
        { "/tmp on the root filesystem", "Rollout/app-api container api: /tmp is not an emptyDir volume with a sizeLimit" },
        { "image latest", "Rollout/app-api container api: image 'ghcr.io/example/app-api:latest' has neither a digest nor a tag other than latest" },
        { "no preStop sleep", "Rollout/app-api container api: no preStop sleep (the pod would stop before it leaves the endpoints)" },
        { "a preStop longer than the grace period", "Deployment/app-worker container worker: the preStop sleep (5 s) does not end within terminationGracePeriodSeconds (5)" },
        { "a Job without a deadline", "Job/app-migrate: a Job needs backoffLimit and activeDeadlineSeconds" },
        { "a CronJob's container may run as root", "CronJob/app-traces-retention container traces-retention: runAsNonRoot is not true" },
        { "a CronJob's pod with the token", "CronJob/app-traces-retention: automountServiceAccountToken is not false" },
        { "a CronJob without /tmp", "CronJob/app-traces-retention container traces-retention: /tmp is not an emptyDir volume with a sizeLimit" },
        { "a CronJob's job retried for ever", "CronJob/app-traces-retention: a Job needs backoffLimit and activeDeadlineSeconds" },
        { "a CronJob's pod restarted in place", "CronJob/app-traces-retention: a Job's restartPolicy must be Never or OnFailure" },
    };

    [Theory]
    [MemberData(nameof(Defects))]
    public async Task EachPlantedDefectIsFound(string defect, string expected)
    {
        var objects = await Manifests.ObjectsAsync("dev");
        var api = objects.Workloads().Single(w => w.Kind == "Rollout");
        var worker = objects.Workloads().Single(w => w.Kind == "Deployment");
        var job = objects.Workloads().Single(w => w.Kind == "Job");
        var cronJob = objects.Workloads().Single(w => w.Kind == "CronJob");
        var apiContainer = api.Containers.Single();

        switch (defect)
        {
            case "no readiness probe on the API": apiContainer.Remove("readinessProbe"); break;
            case "liveness probe on the public port": worker.Containers.Single()["livenessProbe"]!["httpGet"]!["port"] = "http"; break;
            case "no memory limit": job.Containers.Single()["resources"]!["limits"]!.AsObject().Remove("memory"); break;
            case "writable root filesystem": apiContainer["securityContext"]!["readOnlyRootFilesystem"] = false; break;
            case "privilege escalation": worker.Containers.Single()["securityContext"]!.AsObject().Remove("allowPrivilegeEscalation"); break;
            case "a capability added": apiContainer["securityContext"]!["capabilities"]!["add"] = new JsonArray("NET_ADMIN"); break;
            case "runs as root": api.Pod["securityContext"]!["runAsUser"] = 0; break;
            case "no seccomp profile": job.Pod["securityContext"]!.AsObject().Remove("seccompProfile"); break;
            case "service account token mounted": worker.Pod.Remove("automountServiceAccountToken"); break;
            case "a hostPath volume": api.Pod["volumes"]!.AsArray().Objects().Single(v => (string?)v["name"] == "state")["hostPath"] = new JsonObject { ["path"] = "/var/lib" }; break;
            case "/tmp on the root filesystem": apiContainer["volumeMounts"]!.AsArray().RemoveAll(m => (string?)m!["mountPath"] == "/tmp"); break;
            case "image latest": apiContainer["image"] = "ghcr.io/example/app-api:latest"; break;
            case "no preStop sleep": apiContainer.Remove("lifecycle"); break;
            case "a preStop longer than the grace period": worker.Pod["terminationGracePeriodSeconds"] = 5; break;
            case "a Job without a deadline": job.Owner["spec"]!.AsObject().Remove("activeDeadlineSeconds"); break;
            case "a CronJob's container may run as root": cronJob.Containers.Single()["securityContext"]!.AsObject().Remove("runAsNonRoot"); break;
            case "a CronJob's pod with the token": cronJob.Pod["automountServiceAccountToken"] = true; break;
            case "a CronJob without /tmp": cronJob.Pod["volumes"]!.AsArray().Clear(); break;
            case "a CronJob's job retried for ever": cronJob.JobSpec!.Remove("backoffLimit"); break;
            case "a CronJob's pod restarted in place": cronJob.Pod["restartPolicy"] = "Always"; break;
            default: throw new ArgumentOutOfRangeException(nameof(defect), defect, null);
        }

        Assert.Contains(expected, WorkloadChecks.Problems(objects, requireDigest: false));
    }

    [Fact]
    public async Task ProdRequiresTheImageByDigest()
    {
        var objects = await Manifests.ObjectsAsync("prod");
        objects.Workloads().Single(w => w.Kind == "Rollout").Containers.Single()["image"] = "ghcr.io/example/app-api:v1.2.3";

        Assert.Contains("Rollout/app-api container api: image 'ghcr.io/example/app-api:v1.2.3' is not pinned by digest", WorkloadChecks.Problems(objects, requireDigest: true));
    }
}
