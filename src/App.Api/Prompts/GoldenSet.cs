using System.Text.Json;
using System.Text.Json.Nodes;
using App.Application.Calls;
using App.Application.Prompts;
using App.Application.Traffic;

namespace App.Api.Prompts;

/// <summary>
/// The golden set: per template version, <c>prompts/&lt;name&gt;/golden/v&lt;n&gt;.jsonl</c> holds inputs with the
/// outputs recorded from the model (the offline model, with each template's fixed seed). Replaying runs every
/// input through the real prompt path and compares: every output must match its schema, and each template's exact
/// matches and score must reach its budget (<see cref="GoldenBudget"/>) and not fall further than it allows against
/// the last run's scores, when a file of them is given. Recording rewrites the files, so a template or model change
/// shows up as a reviewable diff.
/// </summary>
internal sealed class GoldenSet(IPromptCatalog catalog, PromptRunner runner)
{
    public static readonly UsageCaller Caller = new("_golden", "golden");

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <param name="promptsDirectory">Where the templates and their golden sets are.</param>
    /// <param name="record">Rewrite the recordings with this run's outputs.</param>
    /// <param name="minExactMatch">Replaces every template's <see cref="GoldenBudget.MinExact"/>, if given.</param>
    /// <param name="only">One template's name, or all.</param>
    /// <param name="lastRun">A file of the last run's scores per template: compared against, then replaced by this run's.</param>
    /// <param name="cancellationToken">Ends the replay.</param>
    public async Task<GoldenReport> RunAsync(string promptsDirectory, bool record, double? minExactMatch, string? only, CancellationToken cancellationToken, string? lastRun = null)
    {
        var results = new List<GoldenCaseResult>();
        var templates = new List<GoldenTemplateResult>();
        var lastScores = lastRun is not null && File.Exists(lastRun)
            ? JsonSerializer.Deserialize<Dictionary<string, double>>(await File.ReadAllTextAsync(lastRun, cancellationToken)) ?? []
            : [];
        foreach (var template in catalog.All.Where(t => only is null || t.Name == only))
        {
            var directory = Path.Combine(promptsDirectory, template.Name, "golden");
            var file = Path.Combine(directory, $"v{template.Version}.jsonl");
            if (!File.Exists(file))
            {
                continue;
            }

            var budget = await GoldenBudget.LoadAsync(directory, cancellationToken);
            if (minExactMatch is { } exact)
            {
                budget = budget with { MinExact = exact };
            }

            var first = results.Count;

            var lines = new List<string>();
            foreach (var line in await File.ReadAllLinesAsync(file, cancellationToken))
            {
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                var node = JsonNode.Parse(line)!.AsObject();
                var id = node["id"]!.GetValue<string>();
                var input = JsonSerializer.SerializeToElement(node["input"]);
                var expected = node["expected"];
                string? error = null;
                JsonElement? output = null;
                try
                {
                    output = (await runner.RunAsync(template, input, Caller, cancellationToken)).Output;
                }
                catch (PromptException ex)
                {
                    error = ex.Message + " " + string.Join("; ", ex.Errors);
                }
                catch (GatewayException ex)
                {
                    error = ex.Message;
                }

                var deltas = new List<string>();
                var expectedElement = expected is null ? (JsonElement?)null : JsonSerializer.SerializeToElement(expected);
                if (output is { } actual && expectedElement is { } wanted)
                {
                    Compare("$", wanted, actual, deltas);
                }
                else if (expectedElement is null)
                {
                    deltas.Add("$: no recorded output");
                }

                var score = output is null || expectedElement is not { } recordedOutput ? 0 : Math.Max(0, 1 - ((double)deltas.Count / Math.Max(1, Leaves(recordedOutput))));
                results.Add(new GoldenCaseResult(template.Id, id, output is not null, output is not null && deltas.Count == 0, deltas, error, score));
                if (record && output is { } recorded)
                {
                    node["expected"] = JsonNode.Parse(recorded.GetRawText());
                }

                lines.Add(node.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
            }

            if (record)
            {
                await File.WriteAllTextAsync(file, string.Join('\n', lines) + "\n", cancellationToken);
            }

            var cases = results.Skip(first).ToList();
            templates.Add(new GoldenTemplateResult(
                template.Id, budget, cases.Count, cases.Count(c => c.Valid), cases.Count(c => c.Exact),
                cases.Count == 0 ? 0 : Math.Round(cases.Average(c => c.Score), 6), lastScores.TryGetValue(template.Id, out var last) ? last : null));
        }

        if (lastRun is not null && !record)
        {
            foreach (var t in templates)
            {
                lastScores[t.Template] = t.Score;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(lastRun))!);
            await File.WriteAllTextAsync(lastRun, JsonSerializer.Serialize(lastScores, Indented) + "\n", cancellationToken);
        }

        return new GoldenReport(results, templates);
    }

    /// <summary>The values a recording holds (its leaves), what a case's score counts its deltas against.</summary>
    internal static int Leaves(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().Sum(p => Leaves(p.Value)),
        JsonValueKind.Array => Math.Max(1, element.EnumerateArray().Sum(Leaves)),
        _ => 1,
    };

    /// <summary>Lists where two JSON values differ, as JSON paths with both values.</summary>
    internal static void Compare(string path, JsonElement expected, JsonElement actual, List<string> deltas)
    {
        if (expected.ValueKind != actual.ValueKind)
        {
            deltas.Add($"{path}: expected {expected.GetRawText()}, got {actual.GetRawText()}");
            return;
        }

        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                var actualNames = actual.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
                foreach (var property in expected.EnumerateObject())
                {
                    if (actual.TryGetProperty(property.Name, out var value))
                    {
                        Compare($"{path}.{property.Name}", property.Value, value, deltas);
                    }
                    else
                    {
                        deltas.Add($"{path}.{property.Name}: missing");
                    }

                    actualNames.Remove(property.Name);
                }

                deltas.AddRange(actualNames.Select(n => $"{path}.{n}: not expected"));
                break;
            case JsonValueKind.Array:
                var a = expected.EnumerateArray().ToList();
                var b = actual.EnumerateArray().ToList();
                if (a.Count != b.Count)
                {
                    deltas.Add($"{path}: expected {a.Count} items, got {b.Count}");
                }

                for (var i = 0; i < Math.Min(a.Count, b.Count); i++)
                {
                    Compare($"{path}[{i}]", a[i], b[i], deltas);
                }

                break;
            default:
                if (!JsonElement.DeepEquals(expected, actual))
                {
                    deltas.Add($"{path}: expected {expected.GetRawText()}, got {actual.GetRawText()}");
                }

                break;
        }
    }
}
