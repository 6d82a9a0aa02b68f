namespace App.DeployTests;

/// <summary>
/// The workflows follow the OpenSSF Scorecard practices (<see cref="WorkflowChecks"/>), Dependabot keeps every kind
/// of pinned dependency current, and a security policy says how to report a vulnerability; each check is also shown
/// refusing a copy with the defect it exists to catch.
/// </summary>
public class WorkflowTests
{
    private const string Ci = ".github/workflows/ci.yml";

    public static TheoryData<string> Workflows() =>
        [.. Directory.GetFiles(Repository.PathOf(".github/workflows"), "*.yml").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Workflows))]
    public void TheWorkflowIsHardened(string file) =>
        Assert.Empty(WorkflowChecks.Problems(file, Repository.Read($".github/workflows/{file}")));

    public static readonly TheoryData<string, string, string> Defects = new()
    {
        { "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2", "actions/checkout@v4", "'actions/checkout@v4' is not pinned" },
        { "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2", "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683", "is not pinned by a full commit SHA with its version" },
        { "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2", "actions/checkout@11bd719 # v4.2.2", "is not pinned" },
        { "permissions:\n  contents: read\n", "permissions: write-all\n", "top-level permissions \"write-all\" are not read-only" },
        { "permissions:\n  contents: read\n", "permissions:\n  contents: write\n", "are not read-only" },
        { "permissions:\n  contents: read\n", "", "no top-level permissions" },
        { "          egress-policy: audit\n", "          egress-policy: none\n", "does not start with step-security/harden-runner" },
    };

    [Theory]
    [MemberData(nameof(Defects))]
    public void EachPlantedDefectIsRefused(string from, string to, string expected)
    {
        var copy = Path.Combine(Directory.CreateTempSubdirectory("app-workflow-").FullName, "ci.yml");
        var text = Repository.Read(Ci);
        Assert.Contains(from, text, StringComparison.Ordinal);
        File.WriteAllText(copy, text.Replace(from, to, StringComparison.Ordinal));

        var problems = WorkflowChecks.Problems("ci.yml", File.ReadAllText(copy));

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void TheSolutionIsBuiltOnceAndLaterJobsUseThatBuild() => Assert.Empty(BuildOnceChecks.Problems(Repository.Read(Ci)));

    public static readonly TheoryData<string, string, string> BuildTwice = new()
    {
        { "          APP_TEST_NO_BUILD: \"1\"\n", string.Empty, "job 'test' runs deploy/local/test.sh without APP_TEST_NO_BUILD" },
        { "          APP_NO_BUILD: \"1\"\n", string.Empty, "job 'load' runs deploy/local/run.sh without APP_NO_BUILD" },
        { "      - name: Load gate (pr profile)\n", "      - run: dotnet build App.sln -c Release\n      - name: Load gate (pr profile)\n", "job 'load' builds again" },
        { "  test:\n    needs: build\n", "  test:\n", "job 'test' runs deploy/local/test.sh without needing job 'build'" },
        { "          name: build\n          path: build.tgz\n", "          name: binaries\n          path: build.tgz\n", "job 'build' must build the solution and upload it" },
    };

    [Theory]
    [MemberData(nameof(BuildTwice))]
    public void AJobThatBuildsAgainOrTestsAnotherBuildIsRefused(string from, string to, string expected)
    {
        var text = Repository.Read(Ci);
        Assert.Contains(from, text, StringComparison.Ordinal);

        var problems = BuildOnceChecks.Problems(text.Replace(from, to, StringComparison.Ordinal));

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void AJobWithoutHardenRunnerFirstIsRefused()
    {
        var text = Repository.Read(Ci);
        var harden = text.IndexOf("      - uses: " + WorkflowChecks.HardenRunner, StringComparison.Ordinal);
        var next = text.IndexOf("      - uses: actions/checkout", harden, StringComparison.Ordinal);

        var problems = WorkflowChecks.Problems("ci.yml", text.Remove(harden, next - harden));

        Assert.Contains(problems, p => p.Contains("job 'build' does not start with step-security/harden-runner", StringComparison.Ordinal));
    }

    [Fact]
    public void DependabotUpdatesEveryKindOfPinnedDependency()
    {
        var updates = YamlJson.Documents(Repository.Read(".github/dependabot.yml")).Single()["updates"]!.AsArray()
            .Select(u => u!.AsObject()).ToList();
        string[] DirectoriesOf(string ecosystem) => [.. updates.Where(u => (string?)u["package-ecosystem"] == ecosystem)
            .SelectMany(u => u["directories"]?.AsArray().Select(d => (string)d!) ?? [(string)u["directory"]!])];

        var packageDirectories = Directory.GetFiles(Repository.Root, "package.json", SearchOption.AllDirectories)
            .Where(f => !f.Contains("node_modules", StringComparison.Ordinal) && File.Exists(Path.ChangeExtension(f, null) + "-lock.json"))
            .Select(f => "/" + Path.GetRelativePath(Repository.Root, Path.GetDirectoryName(f)!).Replace('\\', '/'))
            // artifacts/ is build output, never committed (the benchmark installs other gateways there).
            .Where(d => !d.StartsWith("/artifacts/", StringComparison.Ordinal));

        Assert.Equal(["/"], DirectoriesOf("nuget"));
        Assert.Equal(["/"], DirectoriesOf("github-actions"));
        Assert.Equal(["/deploy/container"], DirectoriesOf("docker"));
        Assert.Equal(packageDirectories.Order(StringComparer.Ordinal), DirectoriesOf("npm").Order(StringComparer.Ordinal));
    }

    [Fact]
    public void TheSecurityPolicyGivesAContactAndTimelines()
    {
        var policy = Repository.Read(".github/SECURITY.md");

        Assert.Contains("Report a vulnerability", policy, StringComparison.Ordinal);
        Assert.Contains("acknowledgement of the report | 3 working days", policy, StringComparison.Ordinal);
        Assert.Contains("public advisory", policy, StringComparison.Ordinal);
    }
}
