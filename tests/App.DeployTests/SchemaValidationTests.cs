using System.Text.RegularExpressions;
using App.Testing;

namespace App.DeployTests;

/// <summary>
/// Every rendered object validates against the Kubernetes schemas and those of Argo Rollouts, prometheus-operator,
/// External Secrets and the Gateway API (deploy/k8s/validate.mjs), and the validator refuses a planted defect of each
/// kind it can see: a wrong type, a value outside an enum, a missing required field, a kind it has no schema for.
/// </summary>
public partial class SchemaValidationTests
{
    [Theory]
    [MemberData(nameof(Manifests.Overlays), MemberType = typeof(Manifests))]
    public async Task EveryRenderedObjectValidatesAgainstItsSchema(string overlay)
    {
        var rendered = await Manifests.RenderAsync(overlay);
        var count = (await Manifests.ObjectsAsync(overlay)).Count;

        var (exitCode, stdout, stderr) = await ValidateAsync(rendered);

        Assert.True(exitCode == 0, stdout + stderr);
        Assert.Contains($"{count} valid, 0 invalid", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("setWeight: 10", "setWeight: ten", "Rollout/app-api", "/spec/strategy/canary/steps/3/setWeight must be integer")]
    [InlineData("protocol: UDP", "protocol: QUIC", "NetworkPolicy/app-api", "must be equal to one of the allowed values")]
    [InlineData("minReplicas: 2", "minReplicas: two", "HorizontalPodAutoscaler/app-api", "/spec/minReplicas must be integer")]
    [InlineData("kind: PodMonitor", "kind: PodMonitorX", "PodMonitorX/app", "no schema for this kind")]
    [InlineData("concurrencyPolicy: Forbid", "concurrencyPolicy: Sometimes", "CronJob/app-traces-retention", "/spec/concurrencyPolicy must be equal to one of the allowed values")]
    [InlineData("startingDeadlineSeconds: 3600", "startingDeadlineSeconds: hourly", "CronJob/app-traces-retention", "/spec/startingDeadlineSeconds must be integer")]
    [InlineData("    secretKey: ConnectionStrings__PostgresMigrations\n", "", "ExternalSecret/app-migrations", "must have required property")]
    public async Task ARenderedObjectWithADefectIsRefused(string from, string to, string objectId, string message)
    {
        var rendered = await Manifests.RenderAsync("dev");
        Assert.Contains(from, rendered, StringComparison.Ordinal);
        var regex = new Regex(Regex.Escape(from));
        var planted = regex.Replace(rendered, to, 1);

        var (exitCode, stdout, _) = await ValidateAsync(planted);

        Assert.Equal(1, exitCode);
        var line = Assert.Single(stdout.Split('\n'), l => l.StartsWith($"INVALID {objectId} ", StringComparison.Ordinal));
        Assert.Contains(message, line, StringComparison.Ordinal);
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> ValidateAsync(string yaml) =>
        Tool.RunAsync("node", ["deploy/k8s/validate.mjs"], yaml);
}
