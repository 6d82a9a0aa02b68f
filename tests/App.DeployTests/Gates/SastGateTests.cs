using App.Testing;

namespace App.DeployTests.Gates;

/// <summary>
/// The static security analysis that every build runs (the .NET security rules and Security Code Scan, as errors, from
/// Directory.Build.props) refuses a project holding a planted SQL injection, broken and weak hashes, a broken cipher
/// and a predictable random number; the fixture is built here only, never with the product.
/// </summary>
public class SastGateTests
{
    private const string Fixture = "tests/fixtures/sast/Sast.Fixture.csproj";

    [Fact]
    public async Task TheBuildFailsNamingEveryPlantedDefect()
    {
        var (exitCode, stdout, stderr) = await Tool.RunAsync(
            "dotnet", ["build", Fixture, "-c", "Release", "--nologo", "-v", "quiet"], timeout: TimeSpan.FromMinutes(4));
        var errors = (stdout + stderr).Split('\n').Where(l => l.Contains(": error ", StringComparison.Ordinal)).ToList();

        Assert.NotEqual(0, exitCode);
        Assert.All(errors, e => Assert.Contains("PlantedDefects.cs", e, StringComparison.Ordinal));
        foreach (var rule in new[] { "CA2100", "CA5350", "CA5351", "SCS0005", "SCS0010" })
        {
            Assert.Contains(errors, e => e.Contains($"error {rule}:", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void TheFixtureKeepsTheBuildSettingsOfEveryProjectAndIsNotPartOfTheProduct()
    {
        var project = Repository.Read(Fixture);

        foreach (var setting in new[] { "NoWarn", "Analysis", "TreatWarningsAsErrors", "WarningsNotAsErrors", "RunAnalyzers", "EnableNETAnalyzers" })
        {
            Assert.DoesNotContain(setting, project, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("fixtures", Repository.Read("App.sln"), StringComparison.Ordinal);
        Assert.Contains("<AnalysisLevelSecurity>latest-all</AnalysisLevelSecurity>", Repository.Read("Directory.Build.props"), StringComparison.Ordinal);
        Assert.Contains("GlobalPackageReference Include=\"SecurityCodeScan.VS2019\"", Repository.Read("Directory.Packages.props"), StringComparison.Ordinal);
    }
}
