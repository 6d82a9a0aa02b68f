using System.Text.RegularExpressions;
using App.Testing;

namespace App.IntegrationTests;

/// <summary>
/// The Prometheus rules and Grafana dashboards of deploy/observability pass their gate (promtool check and test rules,
/// the dashboards against the metric contract, a runbook section per alert), and the gate itself fails on each defect
/// its self-test plants.
/// </summary>
public partial class ObservabilityRulesTests
{
    [Fact]
    public async Task RulesDashboardsAndTheirSelfTestPass()
    {
        var (exitCode, stdout, stderr) = await Tool.RunAsync("bash", ["deploy/observability/check.sh", "--self-test"], timeout: TimeSpan.FromMinutes(15));
        var output = stdout + stderr;

        Assert.True(exitCode == 0, output);
        var promtool = PromtoolSummary().Match(output);
        Assert.True(promtool.Success, output);
        Assert.Equal("6", promtool.Groups["files"].Value);
        Assert.Equal("14", promtool.Groups["alerts"].Value);
        Assert.Equal(promtool.Groups["alerts"].Value, promtool.Groups["tested"].Value);
        Assert.Contains($"validate: {promtool.Groups["alerts"].Value} alerts with their runbook section", output, StringComparison.Ordinal);
        Assert.Contains("validate: 5 dashboards,", output, StringComparison.Ordinal);
        Assert.Contains("self-test: 14 of 14 planted defects caught", output, StringComparison.Ordinal);
        Assert.DoesNotContain("NOT caught", output, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"promtool: (?<files>\d+) test files, \d+ test groups, \d+ checks passed; (?<tested>\d+) of (?<alerts>\d+) alerts tested firing")]
    private static partial Regex PromtoolSummary();
}
