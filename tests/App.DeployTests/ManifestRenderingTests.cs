namespace App.DeployTests;

/// <summary>Both overlays render with <c>kubectl kustomize</c> into the objects the deployment is made of.</summary>
public class ManifestRenderingTests
{
    private static readonly string[] Kinds =
    [
        "AnalysisTemplate", "ConfigMap", "CronJob", "Deployment", "ExternalSecret", "HTTPRoute", "HorizontalPodAutoscaler", "Job",
        "NetworkPolicy", "PodDisruptionBudget", "PodMonitor", "PrometheusRule", "Rollout", "Service", "ServiceAccount",
    ];

    [Theory]
    [MemberData(nameof(Manifests.Overlays), MemberType = typeof(Manifests))]
    public async Task OverlayRendersEveryKindOfObject(string overlay)
    {
        var objects = await Manifests.ObjectsAsync(overlay);

        Assert.Equal(Kinds, objects.Select(o => (string?)o["kind"] ?? "").Distinct().Order(StringComparer.Ordinal));
        Assert.All(objects, o => Assert.False(string.IsNullOrEmpty((string?)o["metadata"]?["namespace"]), Manifests.Id(o)));
    }

    [Fact]
    public async Task BothOverlaysRunOneImageByDigest()
    {
        foreach (var overlay in new[] { "dev", "prod" })
        {
            var images = (await Manifests.ObjectsAsync(overlay)).Workloads().SelectMany(w => w.Containers).Select(c => (string?)c["image"]).Distinct().ToList();
            Assert.Matches(@"^[a-z0-9.\-]+/[a-z0-9./\-]+@sha256:[0-9a-f]{64}$", Assert.Single(images));
        }
    }

    [Fact]
    public async Task OverlaysPutTheServiceInNamespacesOfTheirOwn()
    {
        var dev = (await Manifests.ObjectsAsync("dev")).Select(o => (string?)o["metadata"]?["namespace"]).Distinct();
        var prod = (await Manifests.ObjectsAsync("prod")).Select(o => (string?)o["metadata"]?["namespace"]).Distinct();

        Assert.Equal("app-dev", Assert.Single(dev));
        Assert.Equal("app", Assert.Single(prod));
    }
}
