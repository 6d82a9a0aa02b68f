using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using App.Infrastructure.Providers;
using App.Testing;

namespace App.Bench;

/// <summary>
/// Embeddings, offline and through the cache: <c>dotnet run -c Release --project bench/App.Bench -- embeddings
/// [--items 512] [--batch 32] [--hits 500]</c>. First the offline model on its own (load time, the resident memory it
/// adds, items per second in batches); then the real service in-process (Redis, PostgreSQL, the offline alias
/// <c>minilm</c>): fresh items through <c>POST /v1/embeddings</c> (all misses), the same batches again (all hits, from
/// Redis and the in-memory layer), and the latency of one cached item, one request at a time.
/// </summary>
internal static class EmbeddingsScenario
{
    public static async Task<int> RunAsync(string[] args)
    {
        var items = Args.Int(args, "--items", 512);
        var batch = Args.Int(args, "--batch", 32);
        var hits = Args.Int(args, "--hits", 500);
        var texts = Enumerable.Range(0, items).Select(Sentence).ToArray();

        var table = new StringBuilder();
        table.AppendLine("| measure | value |");
        table.AppendLine("| --- | --- |");
        void Row(string measure, string value) => table.AppendLine(CultureInfo.InvariantCulture, $"| {measure} | {value} |");

        GC.Collect();
        var rssBefore = RssMegabytes();
        var clock = Stopwatch.StartNew();
        using (var model = new OfflineEmbeddingGenerator("all-MiniLM-L6-v2"))
        {
            await model.GenerateAsync(["load the model"]);
            var load = clock.Elapsed;
            GC.Collect();
            Row("offline model: first call (load and one item)", $"{load.TotalMilliseconds:F0} ms");
            Row("offline model: resident memory added by the load", $"{RssMegabytes() - rssBefore:F0} MB ({rssBefore:F0} -> {RssMegabytes():F0} MB)");
            clock.Restart();
            for (var i = 0; i < items; i += batch)
            {
                await model.GenerateAsync(texts.Skip(i).Take(batch));
            }

            Row($"offline model: items/s in batches of {batch}", $"{items / clock.Elapsed.TotalSeconds:F0} ({clock.Elapsed.TotalMilliseconds / items:F2} ms per item)");
        }

        Console.Error.WriteLine("Starting Redis and PostgreSQL (local binaries or Testcontainers) and the service...");
        await using var redis = await TestServers.StartRedisAsync();
        var database = await Databases.FreshAsync();
        // The host's content root (appsettings.json, the guard rules), which a test project is told by its build.
        Environment.SetEnvironmentVariable("ASPNETCORE_TEST_CONTENTROOT_APP_API", Path.Combine(Databases.RepositoryRoot(), "src", "App.Api"));
        await using var factory = new GatewayFactory(redis.ConnectionString, database, new Settings().With("Traffic:Enabled", "false"));
        using var client = factory.CreateClientFor("bench-tenant");

        // Fresh items: every one goes to the model once.
        clock.Restart();
        for (var i = 0; i < items; i += batch)
        {
            await PostAsync(client, texts.Skip(i).Take(batch), "miss");
        }

        Row($"service, offline model, all misses: items/s in batches of {batch}", $"{items / clock.Elapsed.TotalSeconds:F0}");

        // The same batches: every item from the cache.
        clock.Restart();
        for (var i = 0; i < items; i += batch)
        {
            await PostAsync(client, texts.Skip(i).Take(batch), "hit");
        }

        Row($"service, all cached: items/s in batches of {batch}", $"{items / clock.Elapsed.TotalSeconds:F0}");

        var latencies = new double[hits];
        for (var i = 0; i < hits; i++)
        {
            var one = Stopwatch.GetTimestamp();
            await PostAsync(client, [texts[i % items]], "hit");
            latencies[i] = Stopwatch.GetElapsedTime(one).TotalMilliseconds;
        }

        Array.Sort(latencies);
        Row("service, one cached item: p50 / p99 latency", $"{latencies[hits / 2]:F2} ms / {latencies[(int)(hits * 0.99)]:F2} ms");
        Console.WriteLine(table.ToString());
        return 0;
    }

    private static async Task PostAsync(HttpClient client, IEnumerable<string> texts, string expected)
    {
        var body = new JsonObject { ["model"] = "minilm", ["input"] = new JsonArray([.. texts.Select(t => (JsonNode)JsonValue.Create(t)!)]) };
        using var response = await client.PostAsync("/v1/embeddings", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        await response.Content.LoadIntoBufferAsync();
        var cache = response.Headers.TryGetValues("x-cache", out var values) ? values.First() : "none";
        if (!response.IsSuccessStatusCode || cache != expected)
        {
            throw new InvalidOperationException($"/v1/embeddings answered {(int)response.StatusCode}, x-cache {cache} (expected {expected}): {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static string Sentence(int i) => string.Create(
        CultureInfo.InvariantCulture,
        $"Ticket {i}: the customer on plan {i % 7} reports that invoice {i * 37 % 1000} was charged twice and asks for a refund.");

    private static double RssMegabytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
            }
        }

        return 0;
    }
}
