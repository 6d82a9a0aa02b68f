using System.Globalization;
using System.Text;

namespace App.Api.Prompts;

/// <summary>A golden-set replay: its cases, each template's result against its budget, and the text the <c>golden</c> command prints.</summary>
internal sealed record GoldenReport(IReadOnlyList<GoldenCaseResult> Cases, IReadOnlyList<GoldenTemplateResult> Templates)
{
    public int Total => Cases.Count;

    public double ValidityRate => Total == 0 ? 0 : (double)Cases.Count(c => c.Valid) / Total;

    public double ExactMatchRate => Total == 0 ? 0 : (double)Cases.Count(c => c.Exact) / Total;

    public bool Passed => Total > 0 && Templates.All(t => t.Passed);

    public string ToText()
    {
        var text = new StringBuilder();
        foreach (var template in Templates)
        {
            var last = template.LastScore is { } l ? string.Create(CultureInfo.InvariantCulture, $", last run {l:F3} ({template.Score - l:+0.000;-0.000;0.000})") : string.Empty;
            text.AppendLine(CultureInfo.InvariantCulture, $"{template.Template}: {template.Valid}/{template.Cases} valid, {template.Exact}/{template.Cases} exact, score {template.Score:F3}{last}: {(template.Passed ? "PASS" : "FAIL")}");
            text.AppendLine(CultureInfo.InvariantCulture, $"  budget: exact >= {template.Budget.MinExact:P1}, score >= {template.Budget.MinScore:F3}, drop <= {template.Budget.MaxDrop:F3} ({template.Budget.Reason})");
            foreach (var failure in template.Failures)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  FAILED: {failure}");
            }

            foreach (var c in Cases.Where(c => c.Template == template.Template && (!c.Exact || !c.Valid)))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  {c.Id}: {(c.Valid ? "valid" : "INVALID")}, score {c.Score:F3}{(c.Error is null ? string.Empty : " (" + c.Error + ")")}");
                foreach (var delta in c.Deltas.Take(10))
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"    {delta}");
                }
            }
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"golden set: {Total} cases in {Templates.Count} template(s), schema validity {ValidityRate:P1}, exact match {ExactMatchRate:P1}: {(Passed ? "PASS" : "FAIL")}");
        return text.ToString();
    }
}
