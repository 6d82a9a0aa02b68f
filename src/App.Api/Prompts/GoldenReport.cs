using System.Globalization;
using System.Text;

namespace App.Api.Prompts;

/// <summary>A golden-set replay: its cases, the rates against their budgets, and the text the <c>golden</c> command prints.</summary>
internal sealed record GoldenReport(IReadOnlyList<GoldenCaseResult> Cases, double MinExactMatch)
{
    public int Total => Cases.Count;

    public double ValidityRate => Total == 0 ? 0 : (double)Cases.Count(c => c.Valid) / Total;

    public double ExactMatchRate => Total == 0 ? 0 : (double)Cases.Count(c => c.Exact) / Total;

    public bool Passed => Total > 0 && ValidityRate >= 1.0 && ExactMatchRate >= MinExactMatch;

    public string ToText()
    {
        var text = new StringBuilder();
        foreach (var group in Cases.GroupBy(c => c.Template))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{group.Key}: {group.Count(c => c.Valid)}/{group.Count()} valid, {group.Count(c => c.Exact)}/{group.Count()} exact");
            foreach (var c in group.Where(c => !c.Exact || !c.Valid))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  {c.Id}: {(c.Valid ? "valid" : "INVALID")}{(c.Error is null ? string.Empty : " (" + c.Error + ")")}");
                foreach (var delta in c.Deltas.Take(10))
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"    {delta}");
                }
            }
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"golden set: {Total} cases, schema validity {ValidityRate:P1} (budget 100 %), exact match {ExactMatchRate:P1} (budget {MinExactMatch:P1}): {(Passed ? "PASS" : "FAIL")}");
        return text.ToString();
    }
}
