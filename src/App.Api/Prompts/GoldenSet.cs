using System.Text.Json;
using System.Text.Json.Nodes;
using App.Application.Calls;
using App.Application.Prompts;
using App.Application.Traffic;

namespace App.Api.Prompts;

/// <summary>
/// The golden set: per template version, <c>prompts/&lt;name&gt;/golden/v&lt;n&gt;.jsonl</c> holds inputs with the
/// outputs recorded from the model (the offline model, with each template's fixed seed). Replaying runs every
/// input through the real prompt path and compares: every output must match its schema, and exact matches must
/// reach the budget. Recording rewrites the files, so a template or model change shows up as a reviewable diff.
/// </summary>
internal sealed class GoldenSet(IPromptCatalog catalog, PromptRunner runner)
{
    public static readonly UsageCaller Caller = new("_golden", "golden");

    public async Task<GoldenReport> RunAsync(string promptsDirectory, bool record, double minExactMatch, string? only, CancellationToken cancellationToken)
    {
        var results = new List<GoldenCaseResult>();
        foreach (var template in catalog.All.Where(t => only is null || t.Name == only))
        {
            var file = Path.Combine(promptsDirectory, template.Name, "golden", $"v{template.Version}.jsonl");
            if (!File.Exists(file))
            {
                continue;
            }

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

                results.Add(new GoldenCaseResult(template.Id, id, output is not null, output is not null && deltas.Count == 0, deltas, error));
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
        }

        return new GoldenReport(results, minExactMatch);
    }

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
