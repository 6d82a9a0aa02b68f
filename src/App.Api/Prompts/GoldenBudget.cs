using System.Text.Json;
using System.Text.Json.Serialization;

namespace App.Api.Prompts;

/// <summary>
/// What a template's golden set must reach to pass, from <c>prompts/&lt;name&gt;/golden/budget.json</c>: the share of
/// outputs equal to their recording, the mean score (the share of recorded fields each output reproduces), the most
/// the score may fall against the last run, and why those numbers. Without the file: everything exact, since the
/// offline model with a template's fixed seed answers the same every time, so any difference is a change to review.
/// </summary>
internal sealed record GoldenBudget(
    [property: JsonPropertyName("min_exact")] double MinExact,
    [property: JsonPropertyName("min_score")] double MinScore,
    [property: JsonPropertyName("max_drop")] double MaxDrop,
    [property: JsonPropertyName("reason")] string Reason)
{
    public const string FileName = "budget.json";

    private static readonly JsonSerializerOptions Strict = new() { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    public static readonly GoldenBudget Default = new(1.0, 1.0, 0.0, "no budget.json: the offline model answers the same for the same seed, so every output must equal its recording");

    /// <summary>The budget in <paramref name="goldenDirectory"/>, or <see cref="Default"/>; a file that does not hold a valid one is an error naming it.</summary>
    public static async Task<GoldenBudget> LoadAsync(string goldenDirectory, CancellationToken cancellationToken)
    {
        var file = Path.Combine(goldenDirectory, FileName);
        if (!File.Exists(file))
        {
            return Default;
        }

        GoldenBudget? budget;
        try
        {
            await using var stream = File.OpenRead(file);
            budget = await JsonSerializer.DeserializeAsync<GoldenBudget>(stream, Strict, cancellationToken);
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"{file}: {ex.Message}", ex);
        }

        return budget is { Reason.Length: > 0 } && InRange(budget.MinExact) && InRange(budget.MinScore) && InRange(budget.MaxDrop)
            ? budget
            : throw new InvalidOperationException($"{file}: min_exact, min_score and max_drop must be between 0 and 1, and reason must say why they are what they are.");
    }

    private static bool InRange(double value) => value is >= 0 and <= 1;
}
