using System.Diagnostics;
using System.Text.RegularExpressions;
using App.Testing;

namespace App.IntegrationTests;

/// <summary>
/// The Prometheus rules and Grafana dashboards of deploy/observability pass their gate (promtool check and test rules,
/// the dashboards against the metric contract), and the gate itself fails on each defect its self-test plants.
/// </summary>
public partial class ObservabilityRulesTests
{
    [Fact]
    public async Task RulesDashboardsAndTheirSelfTestPass()
    {
        var (exitCode, output) = await RunAsync("deploy/observability/check.sh", "--self-test");

        Assert.True(exitCode == 0, output);
        var promtool = PromtoolSummary().Match(output);
        Assert.True(promtool.Success, output);
        Assert.Equal("5", promtool.Groups["files"].Value);
        Assert.Equal("13", promtool.Groups["alerts"].Value);
        Assert.Equal(promtool.Groups["alerts"].Value, promtool.Groups["tested"].Value);
        Assert.Contains("validate: 5 dashboards,", output, StringComparison.Ordinal);
        Assert.Contains("self-test: 11 of 11 planted defects caught", output, StringComparison.Ordinal);
        Assert.DoesNotContain("NOT caught", output, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string script, params string[] args)
    {
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Databases.RepositoryRoot(),
        };
        info.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("bash did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    [GeneratedRegex(@"promtool: (?<files>\d+) test files, \d+ test groups, \d+ checks passed; (?<tested>\d+) of (?<alerts>\d+) alerts tested firing")]
    private static partial Regex PromtoolSummary();
}
