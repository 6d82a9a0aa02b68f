namespace App.DeployTests.Policies;

/// <summary>Every overlay under deploy/k8s/overlays, rendered with kubectl kustomize, passes every policy.</summary>
public class RenderedOverlayPolicyTests
{
    [Fact]
    public async Task EveryRenderedOverlayPassesEveryPolicy()
    {
        var overlaysDir = Path.Combine(PolicyGate.Root, "deploy", "k8s", "overlays");
        var overlays = Directory.Exists(overlaysDir)
            ? Directory.GetDirectories(overlaysDir).Where(d => File.Exists(Path.Combine(d, "kustomization.yaml"))).ToArray()
            : [];
        Assert.True(
            overlays.Length > 0,
            "No kustomize overlay under deploy/k8s/overlays: a gate over nothing proves nothing, so the overlays must be " +
            "there and pass deploy/policies/check.sh.");

        var (exitCode, output) = await PolicyGate.RunAsync();

        Assert.True(exitCode == 0, output);
        Assert.Contains($"policy gate: {overlays.Length} sources,", output, StringComparison.Ordinal);
        Assert.Contains(" 0 denials ", output, StringComparison.Ordinal);
    }
}
