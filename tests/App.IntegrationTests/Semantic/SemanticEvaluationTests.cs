using System.Text.Json;
using App.Application.Caching;
using App.Application.Semantic;
using App.Infrastructure.Providers;
using App.Testing;
using Microsoft.Extensions.AI;
using Xunit.Abstractions;

namespace App.IntegrationTests.Semantic;

/// <summary>
/// The semantic cache's decision measured on tests/data/semantic/pairs.jsonl with the real offline model: for each
/// pair, an entry made from the cached question and a lookup made from the asked one, through the partition, the
/// threshold and the verifier. Paraphrases should hit; negations, changed numbers, changed entities, other tenants
/// and other system prompts must not. It reports hits, false hits and misses, and fails below
/// tests/data/semantic/budget.json (precision 100 %: no false hit at all).
/// </summary>
public sealed class SemanticEvaluationTests(ITestOutputHelper output) : IDisposable
{
    private const string Model = "all-MiniLM-L6-v2";
    private readonly OfflineEmbeddingGenerator _model = new(Model);

    public void Dispose() => _model.Dispose();

    [Fact]
    public async Task TheEvaluationSetMeetsItsBudgetWithNoFalseHit()
    {
        var rules = new SemanticCacheOptions();
        var results = await EvaluateAsync(rules, verify: true);
        var budget = JsonDocument.Parse(File.ReadAllText(DataFile("budget.json"))).RootElement;

        var shouldHit = results.Where(r => r.Expected).ToList();
        var hits = shouldHit.Count(r => r.Served);
        var falseHits = results.Where(r => !r.Expected && r.Served).ToList();
        var precision = hits + falseHits.Count == 0 ? 1 : (double)hits / (hits + falseHits.Count);
        var recall = (double)hits / shouldHit.Count;
        output.WriteLine($"threshold {rules.EffectiveThreshold(null):F2}: {results.Count} pairs, {shouldHit.Count} should hit: hits {hits}, misses {shouldHit.Count - hits}, false hits {falseHits.Count}; precision {precision:P1}, recall {recall:P1}");
        foreach (var kind in results.GroupBy(r => r.Kind))
        {
            output.WriteLine($"  {kind.Key}: {kind.Count(r => r.Served)} of {kind.Count()} served; similarity {kind.Min(r => r.Similarity):F3}..{kind.Max(r => r.Similarity):F3}");
        }

        Assert.True(falseHits.Count == 0, "false hits: " + string.Join("; ", falseHits.Select(f => $"{f.Kind} '{f.Cached}' -> '{f.Asked}' ({f.Similarity:F3})")));
        Assert.True(precision >= budget.GetProperty("minPrecision").GetDouble(), $"precision {precision:P1}");
        Assert.True(recall >= budget.GetProperty("minRecall").GetDouble(), $"recall {recall:P1} is below the budget");
    }

    [Fact]
    public async Task WithoutTheVerifierALowerThresholdServesNegationsNumbersAndEntities()
    {
        // The threshold is the only gate here, lowered to where the paraphrases pass: what the verifier is there to stop.
        var loose = new SemanticCacheOptions { Threshold = 0.80 };
        var unverified = await EvaluateAsync(loose, verify: false, thresholdOverride: 0.80);
        var verified = await EvaluateAsync(loose, verify: true, thresholdOverride: 0.80);

        var unverifiedFalse = unverified.Count(r => !r.Expected && r.Served);
        output.WriteLine($"at 0.80: false hits without the verifier {unverifiedFalse}, with it {verified.Count(r => !r.Expected && r.Served)}");
        Assert.True(unverifiedFalse > 5, $"only {unverifiedFalse} false hits without the verifier");
        Assert.Equal(0, verified.Count(r => !r.Expected && r.Served));
    }

    [Fact]
    public void ARequestMayRaiseTheThresholdButNeverLowerIt()
    {
        var rules = new SemanticCacheOptions { Threshold = 0.5 };
        Assert.Equal(SemanticCacheOptions.MinimumThreshold, rules.EffectiveThreshold(null));
        Assert.Equal(SemanticCacheOptions.MinimumThreshold, rules.EffectiveThreshold(0.1));
        Assert.Equal(0.99, rules.EffectiveThreshold(0.99));
    }

    [Fact]
    public void ToolsLongConversationsAndSampledRequestsNeverUseTheSemanticCache()
    {
        var rules = new SemanticCacheOptions();
        var deterministic = new ChatOptions { Temperature = 0 };
        List<ChatMessage> question = [new(ChatRole.User, "What is the capital of France?")];
        Assert.NotNull(SemanticPartition.Compute("p:", 1, "t:a", "gpt", question, deterministic, rules, Model, 384));
        Assert.Null(SemanticPartition.Compute("p:", 1, "t:a", "gpt", question, new ChatOptions { Temperature = 0.7f }, rules, Model, 384));
        Assert.Null(SemanticPartition.Compute("p:", 1, "t:a", "gpt", question, new ChatOptions { Temperature = 0, Tools = [AIFunctionFactory.Create(() => 1, "one")] }, rules, Model, 384));
        Assert.Null(SemanticPartition.Compute("p:", 1, "t:a", "gpt", [.. Enumerable.Repeat(new ChatMessage(ChatRole.User, "x"), 5)], deterministic, rules, Model, 384));
        Assert.Null(SemanticPartition.Compute("p:", 1, "t:a", "gpt", [new(ChatRole.User, new string('x', 1001))], deterministic, rules, Model, 384));
        // Another dimension or embedding model is another partition: entries are versioned by both.
        Assert.NotEqual(
            SemanticPartition.Compute("p:", 1, "t:a", "gpt", question, deterministic, rules, Model, 384),
            SemanticPartition.Compute("p:", 1, "t:a", "gpt", question, deterministic, rules, Model, 256));
    }

    private async Task<List<Outcome>> EvaluateAsync(SemanticCacheOptions rules, bool verify, double? thresholdOverride = null)
    {
        var options = new ChatOptions { Temperature = 0 };
        var threshold = thresholdOverride ?? rules.EffectiveThreshold(null);
        var outcomes = new List<Outcome>();
        foreach (var line in File.ReadLines(DataFile("pairs.jsonl")).Where(l => l.Length > 0))
        {
            var pair = JsonDocument.Parse(line).RootElement;
            var cached = pair.GetProperty("cached");
            var asked = pair.GetProperty("asked");
            var cachedQuestion = cached.GetProperty("question").GetString()!;
            var askedQuestion = asked.GetProperty("question").GetString()!;
            var entryPartition = Partition(cached, options, rules);
            var lookupPartition = Partition(asked, options, rules);
            var vectors = await _model.GenerateAsync([cachedQuestion, askedQuestion]);
            var (index, similarity) = SemanticIndex.Nearest(vectors[1].Vector.Span, [vectors[0].Vector.ToArray()]);
            // Only entries of the lookup's own partition are ever searched.
            var served = entryPartition == lookupPartition && index == 0
                && (verify ? SemanticIndex.Serves(similarity, threshold, cachedQuestion, askedQuestion) : similarity >= threshold);
            outcomes.Add(new Outcome(pair.GetProperty("kind").GetString()!, pair.GetProperty("expect").GetString() == "hit", served, similarity, cachedQuestion, askedQuestion));
        }

        return outcomes;
    }

    private static string? Partition(JsonElement side, ChatOptions options, SemanticCacheOptions rules) =>
        SemanticPartition.Compute(
            "llm:cache:",
            1,
            CacheKey.TenantScope(side.GetProperty("tenant").GetString()!),
            "gpt",
            [new ChatMessage(ChatRole.System, side.GetProperty("system").GetString()), new ChatMessage(ChatRole.User, side.GetProperty("question").GetString())],
            options,
            rules,
            Model,
            OfflineEmbeddingGenerator.Dimensions);

    private static string DataFile(string name) => Path.Combine(Databases.RepositoryRoot(), "tests", "data", "semantic", name);

    private sealed record Outcome(string Kind, bool Expected, bool Served, float Similarity, string Cached, string Asked);
}
