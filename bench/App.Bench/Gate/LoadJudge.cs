namespace App.Bench.Gate;

/// <summary>
/// Holds one phase's figures to the budgets. Latency is the p95 of answered requests per route; errors count every
/// request that got no 2xx (refusals included: a 429 or a 503 is a request the client did not get served); memory
/// growth is the median working set of the phase's last fifth over its first fifth, so one collection's swing at
/// either end does not decide it.
/// </summary>
internal static class LoadJudge
{
    public static IReadOnlyList<BudgetCheck> Judge(LoadBudgets budgets, LoadPhase phase, PhaseResult result)
    {
        var checks = new List<BudgetCheck>
        {
            Check(phase, budgets, LoadBudgets.LlmP95, result.Llm.Requests - result.Llm.Errors == 0 ? null : result.Llm.P95Ms, $"{budgets.Llm.Method} {budgets.Llm.Path}"),
            Check(phase, budgets, LoadBudgets.CoreP95, result.Core.Requests - result.Core.Errors == 0 ? null : result.Core.P95Ms, $"{budgets.Core.Method} {budgets.Core.Path}"),
        };

        var requests = result.Llm.Requests + result.Core.Requests;
        var errors = result.Llm.Errors + result.Core.Errors;
        var failures = string.Join(", ", new[] { result.Llm.Failures, result.Core.Failures }.Where(f => !string.IsNullOrEmpty(f)));
        checks.Add(Check(phase, budgets, LoadBudgets.Errors, requests == 0 ? null : Math.Round(100.0 * errors / requests, 3), $"{errors} of {requests}{(failures.Length == 0 ? string.Empty : $" (status:count {failures})")}"));
        checks.Add(Check(phase, budgets, LoadBudgets.TracesDropped, result.TracesDropped, "app_traces_dropped_total over the phase"));
        if (phase.Memory)
        {
            // The instance that grew most decides; one that could not be sampled enough leaves the budget unmeasured.
            var growth = result.WorkingSet.Select(Growth).ToList();
            var measured = growth.Count > 0 && growth.All(g => g is not null) ? growth.Max() : null;
            checks.Add(Check(phase, budgets, LoadBudgets.MemoryGrowth, measured, $"working set of {result.WorkingSet.Count} instance(s), {string.Join("/", result.WorkingSet.Select(w => w.Count))} samples"));
        }

        return checks;
    }

    /// <summary>Median of the last fifth of the samples minus the median of the first fifth, in MB; null with fewer than five samples.</summary>
    public static double? Growth(IReadOnlyList<double> samples)
    {
        if (samples.Count < 5)
        {
            return null;
        }

        var fifth = samples.Count / 5;
        return Math.Round((Median(samples.Skip(samples.Count - fifth)) - Median(samples.Take(fifth))) / (1024 * 1024), 1);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    // A budget nothing could be measured on fails: a gate that cannot see does not pass.
    private static BudgetCheck Check(LoadPhase phase, LoadBudgets budgets, string budget, double? measured, string detail) =>
        new(phase.Name, budget, measured, budgets.Max(budget), measured is { } m && m <= budgets.Max(budget), measured is null ? $"not measured: {detail}" : detail);
}
