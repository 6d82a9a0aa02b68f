using System.Text.Json.Nodes;

namespace App.DeployTests;

/// <summary>
/// The Rollout's canary is wired as the issue asks (<see cref="CanaryChecks"/>): steps 1/10/50 % each with a timed
/// pause and an analysis by app-api-slo given the canary's hash and namespace, traffic split on the HTTPRoute, the
/// HPA, disruption budget and PodMonitor on its pods; and each check fails on the defect it looks for.
/// </summary>
public class CanaryTests
{
    [Theory]
    [MemberData(nameof(Manifests.Overlays), MemberType = typeof(Manifests))]
    public async Task TheCanaryStepsThroughOneTenAndFiftyPercentWithAnAnalysisAfterEach(string overlay)
    {
        var objects = await Manifests.ObjectsAsync(overlay);

        Assert.Empty(CanaryChecks.Problems(objects));
        var steps = objects.Named("Rollout", "app-api")["spec"]!["strategy"]!["canary"]!["steps"]!.AsArray();
        Assert.Equal(9, steps.Count);
        Assert.Equal([1L, 10L, 50L], steps.Objects().Where(s => s["setWeight"] is not null).Select(s => (long)s["setWeight"]!));
    }

    [Fact]
    public async Task TheAnalysisTemplateKeepsItsMetricsAndIsJudgedOnTheCanaryAlone()
    {
        var template = (await Manifests.ObjectsAsync("prod")).Named("AnalysisTemplate", "app-api-slo");

        Assert.Equal(["error-rate", "core-latency-p95", "llm-latency-p95"], template["spec"]!["metrics"].Objects().Select(m => (string?)m["name"]));
        Assert.Contains("canary-hash", template["spec"]!["args"].Objects().Select(a => (string?)a["name"]));
        Assert.Contains("namespace", template["spec"]!["args"].Objects().Select(a => (string?)a["name"]));
    }

    public static readonly TheoryData<string, string> Defects = new()
    {
        { "a step at 20 %", "Rollout steps are [setWeight 1, pause, analysis, setWeight 20, pause, analysis, setWeight 50, pause, analysis], expected [setWeight 1, pause, analysis, setWeight 10, pause, analysis, setWeight 50, pause, analysis]" },
        { "the last analysis removed", "Rollout steps are [setWeight 1, pause, analysis, setWeight 10, pause, analysis, setWeight 50, pause], expected [setWeight 1, pause, analysis, setWeight 10, pause, analysis, setWeight 50, pause, analysis]" },
        { "an indefinite pause", "Rollout: a pause without a duration waits for a person instead of going on to its analysis" },
        { "an unknown template", "Rollout step 2: analysis templates [app-api-slos] are not all AnalysisTemplates of the manifests" },
        { "the stable hash passed", "Rollout step 5: canary-hash is not passed as podTemplateHashValue: Latest" },
        { "no namespace passed", "Rollout step 8: namespace is not passed from the Rollout's metadata.namespace" },
        { "a route to another service", "HTTPRoute app-api: a rule's backends [app-api-canary, app-api-preview] are not the stable and canary Services" },
        { "a rule without a timeout", "HTTPRoute app-api: a rule sets no timeouts.request" },
        { "no traffic routing", "Rollout: trafficRouting does not name an HTTPRoute of the manifests through argoproj-labs/gatewayAPI" },
        { "no requests-in-flight metric", "HorizontalPodAutoscaler app-api: no Pods metric of requests in flight (http_server_active_requests)" },
        { "hash not relabelled", "PodMonitor app: the pod-template hash is not copied into rollouts_pod_template_hash" },
        { "a service selecting other pods", "Service app-api-canary: its selector does not select the Rollout's pods" },
    };

    [Theory]
    [MemberData(nameof(Defects))]
    public async Task EachPlantedDefectIsFound(string defect, string expected)
    {
        var objects = await Manifests.ObjectsAsync("dev");
        var canary = objects.Named("Rollout", "app-api")["spec"]!["strategy"]!["canary"]!.AsObject();
        var steps = canary["steps"]!.AsArray();

        switch (defect)
        {
            case "a step at 20 %": steps[3]!["setWeight"] = 20; break;
            case "the last analysis removed": steps.RemoveAt(8); break;
            case "an indefinite pause": steps[4]!["pause"] = new JsonObject(); break;
            case "an unknown template": steps[2]!["analysis"]!["templates"]![0]!["templateName"] = "app-api-slos"; break;
            case "the stable hash passed": steps[5]!["analysis"]!["args"]![0]!["valueFrom"]!["podTemplateHashValue"] = "Stable"; break;
            case "no namespace passed": steps[8]!["analysis"]!["args"]!.AsArray().RemoveAt(1); break;
            case "a route to another service": objects.Named("HTTPRoute", "app-api")["spec"]!["rules"]![0]!["backendRefs"]![0]!["name"] = "app-api-preview"; break;
            case "a rule without a timeout": objects.Named("HTTPRoute", "app-api")["spec"]!["rules"]![1]!.AsObject().Remove("timeouts"); break;
            case "no traffic routing": canary.Remove("trafficRouting"); break;
            case "no requests-in-flight metric": objects.Named("HorizontalPodAutoscaler", "app-api")["spec"]!["metrics"]!.AsArray().RemoveAt(1); break;
            case "hash not relabelled": objects.Named("PodMonitor", "app")["spec"]!["podMetricsEndpoints"]![0]!["relabelings"]!.AsArray().RemoveAt(0); break;
            case "a service selecting other pods": objects.Named("Service", "app-api-canary")["spec"]!["selector"]!["app.kubernetes.io/name"] = "app-worker"; break;
            default: throw new ArgumentOutOfRangeException(nameof(defect), defect, null);
        }

        Assert.Contains(expected, CanaryChecks.Problems(objects));
    }
}
