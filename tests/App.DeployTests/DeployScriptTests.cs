using System.Text.Json.Nodes;
using App.Testing;

namespace App.DeployTests;

/// <summary>
/// deploy/k8s/deploy.sh, in its --dry-run (no cluster here): it renders the overlay with the release's image,
/// namespace, host, secret entries, settings and canary steps, and refuses prod without a real digest and a tag where
/// the policies are enforced.
/// </summary>
public class DeployScriptTests
{
    private const string Digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    [Fact]
    public async Task APreviewRendersTheDevOverlayWithItsOwnNamespaceHostImageAndSecrets()
    {
        var (exitCode, stdout, stderr) = await DeployAsync("dev", "--image", "ghcr.io/acme/app-api:sha-0123abc", "--namespace", "pr-12",
            "--host", "pr-12.preview.example.com", "--secrets", "app/preview", "--no-enforce", "--dry-run");

        Assert.True(exitCode == 0, stderr);
        var objects = YamlJson.Documents(stdout);
        Assert.All(objects, o => Assert.Equal("pr-12", (string?)o["metadata"]!["namespace"]));
        Assert.All(objects.Workloads().SelectMany(w => w.Containers), c => Assert.Equal("ghcr.io/acme/app-api:sha-0123abc", (string?)c["image"]));
        Assert.Equal("pr-12.preview.example.com", (string?)objects.Named("HTTPRoute", "app-api")["spec"]!["hostnames"]![0]);
        Assert.Equal("https://pr-12.preview.example.com", (string?)objects.OfKind("ConfigMap").Single()["data"]!["Auth__Issuer"]);
        Assert.Equal("app/preview/runtime", (string?)objects.Named("ExternalSecret", "app-runtime")["spec"]!["dataFrom"]![0]!["extract"]!["key"]);
        Assert.Empty(WorkloadChecks.Problems(objects, requireDigest: false));
        Assert.Empty(CanaryChecks.Problems(objects));
    }

    [Fact]
    public async Task NoCanaryReleasesStraightToAllTrafficAndConfigSetsSettings()
    {
        var (exitCode, stdout, stderr) = await DeployAsync("dev", "--image", $"ghcr.io/acme/app-api@{Digest}", "--no-canary",
            "--config", "Cache__Enabled=false", "--config", "ASPNETCORE_ENVIRONMENT=Development", "--dry-run");

        Assert.True(exitCode == 0, stderr);
        var objects = YamlJson.Documents(stdout);
        Assert.Empty(objects.Named("Rollout", "app-api")["spec"]!["strategy"]!["canary"]!["steps"]!.AsArray());
        var data = objects.OfKind("ConfigMap").Single()["data"]!;
        Assert.Equal(("false", "Development", "InviteOnly"), ((string?)data["Cache__Enabled"], (string?)data["ASPNETCORE_ENVIRONMENT"], (string?)data["Auth__SignUp"]));
    }

    [Fact]
    public async Task AChangedSettingIsANewConfigMapThatThePodTemplatesName()
    {
        var (_, before, _) = await DeployAsync("prod", "--image", $"ghcr.io/acme/app-api@{Digest}", "--dry-run");
        var (exitCode, after, stderr) = await DeployAsync("prod", "--image", $"ghcr.io/acme/app-api@{Digest}", "--config", "Cache__Enabled=false", "--dry-run");

        Assert.True(exitCode == 0, stderr);
        var (old, changed) = (ConfigMapName(YamlJson.Documents(before)), ConfigMapName(YamlJson.Documents(after)));
        Assert.StartsWith("app-config-", changed, StringComparison.Ordinal);
        Assert.NotEqual(old, changed);
        var workloads = YamlJson.Documents(after).Workloads().ToList();
        Assert.Equal(4, workloads.Count);
        Assert.All(workloads.SelectMany(w => w.Containers), c =>
            Assert.Contains(changed, c["envFrom"].Objects().Select(e => (string?)e["configMapRef"]?["name"])));

        static string ConfigMapName(IReadOnlyList<JsonObject> objects) => Manifests.Name(objects.OfKind("ConfigMap").Single());
    }

    [Fact]
    public async Task ATagIsRefusedWhereThePoliciesAreEnforced()
    {
        var (exitCode, stdout, stderr) = await DeployAsync("dev", "--image", "ghcr.io/acme/app-api:sha-0123abc", "--dry-run");

        Assert.Equal(1, exitCode);
        Assert.Empty(stdout);
        Assert.Contains("would be refused at admission: pass a digest, or --no-enforce", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProdRunsTheImageItIsGivenByDigest()
    {
        var (exitCode, stdout, stderr) = await DeployAsync("prod", "--image", $"ghcr.io/acme/app-api@{Digest}", "--dry-run");

        Assert.True(exitCode == 0, stderr);
        Assert.All(YamlJson.Documents(stdout).Workloads().SelectMany(w => w.Containers), c => Assert.Equal($"ghcr.io/acme/app-api@{Digest}", (string?)c["image"]));
    }

    [Theory]
    [InlineData(null, "the image is the overlay's all-zero placeholder digest")]
    [InlineData("ghcr.io/acme/app-api:v1.2.3", "prod runs images by digest only")]
    public async Task ProdRefusesThePlaceholderAndATag(string? image, string message)
    {
        string[] args = image is null ? ["prod", "--dry-run"] : ["prod", "--image", image, "--dry-run"];

        var (exitCode, stdout, stderr) = await DeployAsync(args);

        Assert.Equal(1, exitCode);
        Assert.Empty(stdout);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> DeployAsync(params string[] args) =>
        Tool.RunAsync("bash", ["deploy/k8s/deploy.sh", .. args]);
}
