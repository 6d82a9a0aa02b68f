using System.Globalization;

namespace App.IntegrationTests.Deploy;

/// <summary>
/// One run of an AnalysisTemplate, judged as the Argo Rollouts controller judges it: each metric is measured up to its
/// count, one measurement per interval; a measurement is Failed when the failure condition holds, Inconclusive when
/// neither condition does, Error when the query or a condition cannot be evaluated. A metric fails once its failures
/// pass failureLimit, is inconclusive once its inconclusive measurements pass inconclusiveLimit, errs once consecutive
/// errors pass consecutiveErrorLimit, and succeeds when it reaches its count otherwise; the run takes its worst metric.
/// Only the interval is the caller's (a test cannot wait the template's minutes).
/// </summary>
public sealed class AnalysisRun
{
    private AnalysisRun(AnalysisPhase phase, IReadOnlyDictionary<string, AnalysisPhase> metrics, IReadOnlyList<string> measurements)
    {
        Phase = phase;
        Metrics = metrics;
        Measurements = measurements;
    }

    public AnalysisPhase Phase { get; }

    /// <summary>The phase each metric ended in.</summary>
    public IReadOnlyDictionary<string, AnalysisPhase> Metrics { get; }

    /// <summary>Every measurement as "metric #n: [values] Phase", for the test's output.</summary>
    public IReadOnlyList<string> Measurements { get; }

    /// <summary>What the Rollout does with this run's outcome.</summary>
    public string Verdict => Phase switch
    {
        AnalysisPhase.Successful => "promote to the next step",
        AnalysisPhase.Inconclusive => "no verdict: pause for a person",
        _ => "abort: roll back to stable",
    };

    /// <param name="template">The template as the repository holds it.</param>
    /// <param name="args">The args a Rollout would pass (the rest take their defaults).</param>
    /// <param name="query">Runs an instant PromQL query: the vector's values, or the error.</param>
    /// <param name="interval">The time between two measurements of a metric.</param>
    public static async Task<AnalysisRun> RunAsync(
        AnalysisTemplate template,
        IReadOnlyDictionary<string, string> args,
        Func<string, Task<(IReadOnlyList<double>? Values, string? Error)>> query,
        TimeSpan interval)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(query);
        var state = template.Metrics.ToDictionary(m => m.Name, _ => new Tally(), StringComparer.Ordinal);
        var log = new List<string>();
        while (true)
        {
            var active = template.Metrics.Where(m => state[m.Name].Phase is null).ToList();
            foreach (var metric in active)
            {
                var tally = state[metric.Name];
                var (phase, shown) = await MeasureAsync(metric, template.Resolve(metric, args), query);
                tally.Add(phase);
                log.Add($"{metric.Name} #{tally.Taken.ToString(CultureInfo.InvariantCulture)}: {shown} {phase}");
                tally.Phase = tally.Failed > metric.FailureLimit ? AnalysisPhase.Failed
                    : tally.Inconclusive > metric.InconclusiveLimit ? AnalysisPhase.Inconclusive
                    : tally.ConsecutiveErrors > metric.ConsecutiveErrorLimit ? AnalysisPhase.Error
                    : tally.Taken >= metric.Count ? AnalysisPhase.Successful
                    : null;
            }

            // A failed metric ends the run: the controller terminates the others.
            if (state.Values.Any(t => t.Phase == AnalysisPhase.Failed) || state.Values.All(t => t.Phase is not null))
            {
                break;
            }

            await Task.Delay(interval);
        }

        var metrics = state.ToDictionary(s => s.Key, s => s.Value.Phase ?? AnalysisPhase.Successful, StringComparer.Ordinal);
        return new AnalysisRun(state.Values.Where(t => t.Phase is not null).Max(t => t.Phase!.Value), metrics, log);
    }

    private static async Task<(AnalysisPhase Phase, string Shown)> MeasureAsync(
        AnalysisMetric metric, string resolved, Func<string, Task<(IReadOnlyList<double>? Values, string? Error)>> query)
    {
        var (values, error) = await query(resolved);
        if (values is null)
        {
            return (AnalysisPhase.Error, "query error: " + error);
        }

        var shown = "[" + string.Join(",", values.Select(v => v.ToString("G6", CultureInfo.InvariantCulture))) + "]";
        try
        {
            var success = metric.SuccessCondition is { } s && AnalysisCondition.Evaluate(s, values);
            var failure = metric.FailureCondition is { } f && AnalysisCondition.Evaluate(f, values);
            // As the controller: with one condition only, the other is its negation.
            if (metric.SuccessCondition is null)
            {
                success = !failure;
            }
            else if (metric.FailureCondition is null)
            {
                failure = !success;
            }

            return (failure ? AnalysisPhase.Failed : success ? AnalysisPhase.Successful : AnalysisPhase.Inconclusive, shown);
        }
        catch (FormatException ex)
        {
            return (AnalysisPhase.Error, shown + " " + ex.Message);
        }
    }

    private sealed class Tally
    {
        public int Taken { get; private set; }

        public int Failed { get; private set; }

        public int Inconclusive { get; private set; }

        public int ConsecutiveErrors { get; private set; }

        public AnalysisPhase? Phase { get; set; }

        public void Add(AnalysisPhase phase)
        {
            Taken++;
            Failed += phase == AnalysisPhase.Failed ? 1 : 0;
            Inconclusive += phase == AnalysisPhase.Inconclusive ? 1 : 0;
            ConsecutiveErrors = phase == AnalysisPhase.Error ? ConsecutiveErrors + 1 : 0;
        }
    }
}
