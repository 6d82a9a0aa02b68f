using System.Globalization;
using System.Text;
using System.Text.Json;

namespace App.Bench.Gate;

/// <summary>
/// The load gate (deploy/ci/load.sh): runs a profile of deploy/ci/load-budgets.json against a running service, open
/// loop on a model route and a core route at once, reads the service's metrics before, during and after each phase,
/// and holds every phase to every budget. Exit 0: all met; 1: a budget missed; 2: the file or the arguments are wrong.
/// </summary>
internal static class GateScenario
{
    public static async Task<int> RunAsync(string[] args)
    {
        LoadBudgets budgets;
        IReadOnlyList<LoadPhase> phases;
        var profile = Args.Text(args, "--profile") ?? "pr";
        try
        {
            budgets = LoadBudgets.Read(Args.Text(args, "--budgets") ?? Path.Combine("deploy", "ci", "load-budgets.json"));
            phases = budgets.Profiles.TryGetValue(profile, out var p) ? p : throw new InvalidDataException($"no profile '{profile}'; the file has {string.Join(", ", budgets.Profiles.Keys)}.");
        }
        catch (Exception ex) when (ex is InvalidDataException or JsonException or IOException or KeyNotFoundException or InvalidOperationException)
        {
            Console.Error.WriteLine($"load gate: {ex.Message}");
            return 2;
        }

        var target = new Uri(Args.Text(args, "--base") ?? "http://127.0.0.1:5080");
        // --metrics repeats: one management endpoint per instance; drops are summed, memory is judged per instance.
        var metrics = Args.All(args, "--metrics").Select(m => new Uri(m)).DefaultIfEmpty(new Uri("http://127.0.0.1:9464/metrics")).ToList();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var checks = new List<BudgetCheck>();
        foreach (var phase in phases)
        {
            Console.WriteLine($"load gate: {profile}/{phase.Name}: {phase.Seconds} s, {phase.LlmRate} req/s on {budgets.Llm.Path} and {phase.CoreRate} on {budgets.Core.Path}{(phase.SpikeFactor > 0 ? $", x{phase.SpikeFactor} from {phase.SpikeAt} s for {phase.SpikeSeconds} s" : string.Empty)}");
            var result = await RunPhaseAsync(http, budgets, phase, target, metrics, args);
            checks.AddRange(LoadJudge.Judge(budgets, phase, result));
        }

        var report = Report(profile, target, checks);
        Console.WriteLine(report);
        if (Args.Text(args, "--report") is { } file)
        {
            await File.AppendAllTextAsync(file, report);
        }

        return checks.All(c => c.Passed) ? 0 : 1;
    }

    private static async Task<PhaseResult> RunPhaseAsync(HttpClient http, LoadBudgets budgets, LoadPhase phase, Uri target, List<Uri> metrics, string[] args)
    {
        var before = await Task.WhenAll(metrics.Select(m => MetricsScrape.ReadAsync(http, m)));
        using var sampling = new CancellationTokenSource();
        var samples = metrics.Select(_ => new List<double>()).ToList();
        var every = TimeSpan.FromSeconds(Math.Max(1, phase.Seconds / 50));
        var sampler = Task.WhenAll(metrics.Select((m, i) => SampleAsync(http, m, every, samples[i], sampling.Token)));

        var llmJson = Path.GetTempFileName();
        var coreJson = Path.GetTempFileName();
        try
        {
            await Task.WhenAll(
                LoadScenario.RunAsync(LoadArgs(budgets.Llm, phase, phase.LlmRate, target, llmJson, $"{phase.Name}, model route", args)),
                LoadScenario.RunAsync(LoadArgs(budgets.Core, phase, phase.CoreRate, target, coreJson, $"{phase.Name}, core route", args)));
            await sampling.CancelAsync();
            await sampler;

            // Traces are written after the answers: the drops of this phase are known once the writer's queue is empty.
            var after = await Task.WhenAll(metrics.Select(m => SettledAsync(http, m)));
            double? dropped = before.Concat(after).All(s => s is { IsThisService: true })
                ? after.Sum(s => s!.Sum(MetricsScrape.Dropped)) - before.Sum(s => s!.Sum(MetricsScrape.Dropped))
                : null;
            return new PhaseResult(Row(llmJson), Row(coreJson), dropped, samples);
        }
        finally
        {
            File.Delete(llmJson);
            File.Delete(coreJson);
        }
    }

    private static string[] LoadArgs(Route route, LoadPhase phase, int rate, Uri target, string json, string label, string[] args)
    {
        var list = new List<string>
        {
            "load", "--url", new Uri(target, route.Path).ToString(), "--mode", "open", "--rate", Text(rate), "--duration", Text(phase.Seconds),
            "--warmup", "0", "--label", label, "--json", json, "--method", route.Method, "--model", Args.Text(args, "--model") ?? "offline",
        };
        if (phase.SpikeFactor > 0)
        {
            list.AddRange(["--spike-rate", Text(rate * phase.SpikeFactor), "--spike-at", Text(phase.SpikeAt), "--spike-seconds", Text(phase.SpikeSeconds)]);
        }

        foreach (var option in new[] { "--token", "--token-file" })
        {
            if (Args.Text(args, option) is { } value)
            {
                list.AddRange([option, value]);
            }
        }

        return [.. list];
    }

    private static async Task SampleAsync(HttpClient http, Uri metrics, TimeSpan every, List<double> samples, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (await MetricsScrape.ReadAsync(http, metrics) is { IsThisService: true } scrape)
                {
                    samples.Add(scrape.Sum(MetricsScrape.WorkingSet));
                }

                await Task.Delay(every, stop);
            }
        }
        catch (OperationCanceledException)
        {
            // The phase is over.
        }
    }

    private static async Task<MetricsScrape?> SettledAsync(HttpClient http, Uri metrics)
    {
        var until = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var scrape = await MetricsScrape.ReadAsync(http, metrics);
            if (scrape is null || scrape.Sum(MetricsScrape.Queued) == 0 || DateTime.UtcNow > until)
            {
                return scrape;
            }

            await Task.Delay(500);
        }
    }

    private static RouteResult Row(string json)
    {
        var line = File.ReadLines(json).LastOrDefault(l => l.Length > 0) ?? throw new InvalidDataException("the load generator wrote no result.");
        using var row = JsonDocument.Parse(line);
        var r = row.RootElement;
        return new RouteResult(r.GetProperty("requests").GetInt64(), r.GetProperty("errors").GetInt64(), r.GetProperty("p95_ms").GetDouble(), r.GetProperty("failures").ValueKind == JsonValueKind.String ? r.GetProperty("failures").GetString() : null);
    }

    private static string Report(string profile, Uri target, List<BudgetCheck> checks)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"### Load gate: profile {profile} against {target.GetLeftPart(UriPartial.Authority)}: {(checks.All(c => c.Passed) ? "passed" : $"FAILED ({checks.Count(c => !c.Passed)} of {checks.Count} checks)")}");
        text.AppendLine();
        text.AppendLine("| phase | budget | measured | max | verdict | detail |");
        text.AppendLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var c in checks)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {c.Phase} | {c.Budget} | {(c.Measured is { } m ? m.ToString("0.###", CultureInfo.InvariantCulture) : "-")} | {c.Max.ToString("0.###", CultureInfo.InvariantCulture)} | {(c.Passed ? "met" : "MISSED")} | {c.Detail} |");
        }

        return text.ToString();
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
