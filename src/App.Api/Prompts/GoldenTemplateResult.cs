using System.Globalization;

namespace App.Api.Prompts;

/// <summary>One template's golden set replayed: its rates and score against its budget and against the last run's score.</summary>
internal sealed record GoldenTemplateResult(string Template, GoldenBudget Budget, int Cases, int Valid, int Exact, double Score, double? LastScore)
{
    public double ExactRate => Cases == 0 ? 0 : (double)Exact / Cases;

    /// <summary>Each budget this replay failed, in words; none when it passed.</summary>
    public IReadOnlyList<string> Failures
    {
        get
        {
            var failures = new List<string>();
            if (Valid < Cases)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{Cases - Valid} output(s) do not match the schema (budget: all)"));
            }

            if (ExactRate < Budget.MinExact)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"exact {ExactRate:P1} is under the budget of {Budget.MinExact:P1}"));
            }

            if (Score < Budget.MinScore)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"score {Score:F3} is under the budget of {Budget.MinScore:F3}"));
            }

            if (LastScore is { } last && last - Score > Budget.MaxDrop + 1e-9)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"score fell {last - Score:F3} since the last run ({last:F3}), more than the {Budget.MaxDrop:F3} allowed"));
            }

            return failures;
        }
    }

    public bool Passed => Cases > 0 && Failures.Count == 0;
}
