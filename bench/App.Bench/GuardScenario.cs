using System.Globalization;
using App.Application.Guard;
using App.Testing;

namespace App.Bench;

/// <summary>
/// Measures the input guard's rule set on the labelled sets in tests/data/guard: detection rate on injection
/// attempts, false-positive rate on ordinary prompts, what each rule contributes, and every miss and false alarm.
/// </summary>
internal static class GuardScenario
{
    public sealed record Measurement(string Version, int Attacks, int Detected, int Ordinary, int FalsePositives, double MicrosecondsPerPrompt, double MicrosecondsPerOrdinaryPrompt)
    {
        public double DetectionRate => (double)Detected / Attacks;

        public double FalsePositiveRate => (double)FalsePositives / Ordinary;
    }

    public static Measurement Measure(InputGuard guard, IReadOnlyList<string> attacks, IReadOnlyList<string> ordinary, TextWriter? report)
    {
        ArgumentNullException.ThrowIfNull(guard);
        var detected = 0;
        var falsePositives = 0;
        var hits = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var attack in attacks)
        {
            var verdict = guard.Score([attack]);
            foreach (var rule in verdict.Rules)
            {
                hits[rule] = hits.GetValueOrDefault(rule) + 1;
            }

            if (verdict.Suspected)
            {
                detected++;
            }
            else
            {
                report?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  missed   ({verdict.Score:0.00}) {attack}"));
            }
        }

        foreach (var prompt in ordinary)
        {
            var verdict = guard.Score([prompt]);
            if (verdict.Suspected)
            {
                falsePositives++;
                report?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  flagged  ({verdict.Score:0.00}, {string.Join(",", verdict.Rules)}) {prompt}"));
            }
        }

        var perPrompt = Time(guard, [.. attacks.Concat(ordinary)]);
        var perOrdinary = Time(guard, ordinary);
        if (report is not null)
        {
            foreach (var (rule, count) in hits.OrderByDescending(h => h.Value))
            {
                report.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  rule {rule,-24} matched {count} attack(s)"));
            }
        }

        return new Measurement(guard.Version, attacks.Count, detected, ordinary.Count, falsePositives, perPrompt, perOrdinary);
    }

    private static double Time(InputGuard guard, IReadOnlyList<string> texts)
    {
        const int rounds = 200;
        // A second of warm-up first, so the figure is for tier-1 code, not the JIT's first attempt.
        var warm = System.Diagnostics.Stopwatch.StartNew();
        while (warm.ElapsedMilliseconds < 1_000)
        {
            foreach (var text in texts)
            {
                _ = guard.Score([text]);
            }
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var i = 0; i < rounds; i++)
        {
            foreach (var text in texts)
            {
                _ = guard.Score([text]);
            }
        }

        return System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMicroseconds / (rounds * texts.Count);
    }

    public static IReadOnlyList<string> ReadSet(string name) =>
        [.. File.ReadLines(Path.Combine(Databases.RepositoryRoot(), "tests", "data", "guard", name))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))];

    public static InputGuard LoadShipped() =>
        InputGuard.Load(File.ReadAllText(Path.Combine(Databases.RepositoryRoot(), "src", "App.Api", "guard", "rules.v1.json")));

    public static Task<int> RunAsync()
    {
        var guard = LoadShipped();
        var m = Measure(guard, ReadSet("injections.txt"), ReadSet("benign.txt"), Console.Out);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"rule set {m.Version}, {guard.RuleCount} rules, threshold {guard.Threshold}: detection {m.Detected}/{m.Attacks} = {m.DetectionRate:P1}, false positives {m.FalsePositives}/{m.Ordinary} = {m.FalsePositiveRate:P1}, {m.MicrosecondsPerPrompt:0.0} µs per prompt on average, {m.MicrosecondsPerOrdinaryPrompt:0.0} µs per ordinary prompt"));
        return Task.FromResult(0);
    }
}
