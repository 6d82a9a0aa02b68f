using System.Text.RegularExpressions;

namespace App.DeployTests.Policies;

/// <summary>
/// The gate gives every fixture of deploy/policies/tests its verdict, through the same command a person or a pipeline
/// runs: each manifest under refuse/&lt;policy&gt;/ is refused by that policy alone, for the reasons its header plants;
/// each under accept/ passes every policy. The self-test checks the same and says so in its summary.
/// </summary>
public partial class PolicyFixtureTests
{
    private static readonly string Fixtures = Path.Combine(PolicyGate.PoliciesDir, "tests");

    private static string[] FixtureFiles(string dir) =>
        [.. Directory.EnumerateFiles(Path.Combine(Fixtures, dir), "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task EachRefuseFixtureIsDeniedByItsOwnPolicyAloneNamingTheField()
    {
        var files = FixtureFiles("refuse");
        var (exitCode, output) = await PolicyGate.RunAsync(Path.Combine(Fixtures, "refuse"));

        Assert.True(exitCode == 1, output);
        var denials = PolicyGate.Denials(output);
        foreach (var file in files)
        {
            var policy = Path.GetFileName(Path.GetDirectoryName(file))!;
            var reasons = PolicyGate.Header(file, "reason");
            var own = denials.Where(d => d.Source == PolicyGate.Relative(file)).ToList();

            Assert.True(reasons.Count > 0, $"{file} plants no '# reason:'");
            Assert.True(own.Count > 0, $"{file} was accepted\n{output}");
            Assert.All(own, d => Assert.Equal(policy, d.Policy));
            Assert.All(own, d => Assert.Contains(reasons, r => d.Message.Contains(r, StringComparison.Ordinal)));
            Assert.All(reasons, r => Assert.Contains(own, d => d.Message.Contains(r, StringComparison.Ordinal)));
            // The message names the field to fix (a path such as securityContext.runAsNonRoot, or a pod spec field).
            Assert.All(own, d => Assert.Matches(FieldName(), d.Message));
        }

        Assert.Contains($"policy gate: {files.Length} sources,", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachAcceptFixturePassesEveryPolicy()
    {
        // A fixture that plays a controller's request (the external-secrets writer) is accepted only by the
        // self-test: a header comment in a manifest is no way past the gate.
        var files = FixtureFiles("accept");
        var asController = files.Where(f => PolicyGate.Header(f, "request-user").Count > 0).ToList();
        var plain = files.Except(asController).ToArray();

        var (exitCode, output) = await PolicyGate.RunAsync(plain);
        Assert.True(exitCode == 0, output);
        Assert.Contains($"policy gate: {plain.Length} sources,", output, StringComparison.Ordinal);
        Assert.Contains(" 0 denials ", output, StringComparison.Ordinal);

        Assert.NotEmpty(asController);
        var (refusedCode, refusedOutput) = await PolicyGate.RunAsync([.. asController]);
        Assert.True(refusedCode == 1, refusedOutput);
        Assert.All(PolicyGate.Denials(refusedOutput), d => Assert.Equal("no-secret-objects", d.Policy));
    }

    [Fact]
    public async Task SelfTestRefusesEveryPlantedDefectAndAcceptsEveryGoodManifest()
    {
        var refuse = FixtureFiles("refuse").Length;
        var accept = FixtureFiles("accept").Length;
        var policies = Directory.GetFiles(Path.Combine(PolicyGate.PoliciesDir, "admission"), "*.yaml").Length + 1;

        var (exitCode, output) = await PolicyGate.RunAsync("--self-test");

        Assert.True(exitCode == 0, output);
        Assert.Contains(
            $"self-test: {refuse} of {refuse} refuse fixtures refused as planted, {accept} of {accept} accept fixtures accepted, " +
            $"{policies} of {policies} policies with both",
            output,
            StringComparison.Ordinal);
        Assert.DoesNotContain("FAIL", output, StringComparison.Ordinal);
        Assert.Equal(refuse + accept, OkLine().Count(output));
    }

    [Fact]
    public async Task ABrokenManifestIsAnErrorNotAPass()
    {
        var broken = Path.Combine(Path.GetTempPath(), $"policy-gate-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(broken, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n");
        try
        {
            var (exitCode, output) = await PolicyGate.RunAsync(broken);
            Assert.True(exitCode == 2, output);
        }
        finally
        {
            File.Delete(broken);
        }
    }

    [GeneratedRegex(@"(securityContext\.|resources\.|Probe|automountServiceAccountToken|hostNetwork|hostPath|hostPort|image|kind Secret|NetworkPolicy)")]
    private static partial Regex FieldName();

    [GeneratedRegex(@"^ok   tests/(refuse|accept)/", RegexOptions.Multiline)]
    private static partial Regex OkLine();
}
