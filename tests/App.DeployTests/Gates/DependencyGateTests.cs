using App.Testing;

namespace App.DeployTests.Gates;

/// <summary>
/// The dependency gate (deploy/ci/deps.sh) against advisories planted in a local vulnerability source, for a copy of a
/// one-package project with the repository's build settings: a critical advisory fails restore itself (NuGetAudit,
/// NU1904 as an error), a moderate one is reported without failing, and with no source offering vulnerability data
/// the gate says it could check nothing (and fails when data is required, as on GitHub).
/// </summary>
public class DependencyGateTests
{
    private const string Package = "YamlDotNet";

    [Fact]
    public async Task ACriticalAdvisoryFailsTheGate()
    {
        await using var source = new VulnerabilitySource(Advisory(severity: 3));

        var (exitCode, output) = await GateAsync(source.ServiceIndex);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("NU1904", output, StringComparison.Ordinal);
        Assert.Contains(Package, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AModerateAdvisoryIsReportedWithoutFailing()
    {
        await using var source = new VulnerabilitySource(Advisory(severity: 1));

        var (exitCode, output) = await GateAsync(source.ServiceIndex);

        Assert.True(exitCode == 0, output);
        Assert.Contains($"{source.ServiceIndex} offers vulnerability data", output, StringComparison.Ordinal);
        Assert.Contains($"warn moderate {Package} ", output, StringComparison.Ordinal);
        Assert.Contains("1 vulnerable package references, 0 high or critical", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutVulnerabilityDataTheGateSaysItCheckedNothing()
    {
        await using var source = new VulnerabilitySource(Advisory(severity: 3));
        var offline = source.Url + "no-data/index.json";

        var (exitCode, output) = await GateAsync(offline, "--require-data");

        Assert.NotEqual(0, exitCode);
        Assert.Contains($"{offline} offers NO vulnerability data", output, StringComparison.Ordinal);
        Assert.Contains("the packages were not checked against any advisory", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AHighSeverityInTheReportFailsTheParser()
    {
        const string report = """
            {"version":1,"projects":[{"path":"/r/A.csproj","frameworks":[{"framework":"net10.0",
              "topLevelPackages":[],
              "transitivePackages":[{"id":"Some.Package","resolvedVersion":"1.2.3","vulnerabilities":[
                {"severity":"High","advisoryurl":"https://example.invalid/advisory"}]}]}]}]}
            """;

        var (exitCode, stdout, _) = await Tool.RunAsync("node", ["deploy/ci/vulnerable.mjs"], report);

        Assert.Equal(1, exitCode);
        Assert.Contains("FAIL high Some.Package 1.2.3 (transitive, A.csproj) https://example.invalid/advisory", stdout, StringComparison.Ordinal);
    }

    private static string Advisory(int severity) =>
        $$"""{"{{Package.ToLowerInvariant()}}":[{"severity":{{severity}},"url":"https://example.invalid/advisories/planted","versions":"[0.0.1, )"}]}""";

    private static async Task<(int ExitCode, string Output)> GateAsync(string auditSource, params string[] options)
    {
        var copy = Directory.CreateTempSubdirectory("app-deps-").FullName;
        foreach (var file in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json" })
        {
            File.Copy(Repository.PathOf(file), Path.Combine(copy, file));
        }

        var project = Path.Combine(copy, "Deps.Fixture.csproj");
        File.Copy(Repository.PathOf("tests/fixtures/deps/Deps.Fixture.csproj"), project);
        try
        {
            var (exitCode, stdout, stderr) = await Tool.RunAsync(
                "env", [$"DEPS_AUDIT_SOURCE={auditSource}", "bash", "deploy/ci/deps.sh", .. options, project], timeout: TimeSpan.FromMinutes(4));
            return (exitCode, stdout + stderr);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }
}
