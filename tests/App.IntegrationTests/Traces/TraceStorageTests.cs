using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using App.Application.Identity;
using App.Application.Traces;
using App.Infrastructure.Persistence;
using App.Infrastructure.Security;
using App.Infrastructure.Traces;
using App.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace App.IntegrationTests.Traces;

/// <summary>Every model call leaves a trace: written off the request path, read back under row-level security.</summary>
public class TraceStorageTests : GatewayTest
{
    protected override Settings Configure(Settings settings) =>
        base.Configure(settings).Route("offline", Deployment.Offline()).With("Traces:FlushInterval", "00:00:00.050")
            .With("Traffic:Prices:offline:InputPerMillion", "2.5")
            .With("Traffic:Prices:offline:OutputPerMillion", "10");

    private HttpClient Reader(params string[] scopes) => Factory.CreateClientFor(Tenant, "reader", scopes.Length == 0 ? [Scopes.TracesRead] : scopes);

    private async Task<JsonElement> WaitForTracesAsync(int count, HttpClient? reader = null)
    {
        reader ??= Reader();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var page = await reader.GetFromJsonAsync<JsonElement>("/v1/traces?limit=200");
            if (page.GetProperty("data").GetArrayLength() >= count || DateTime.UtcNow > deadline)
            {
                return page;
            }

            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task AChatCallIsTracedWithTokensAndRedactedEncryptedContent()
    {
        var body = Chat("Reach me at jane@example.com or 4111 1111 1111 1111", model: "offline", temperature: 0);
        using (var response = await PostAsync(body))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var page = await WaitForTracesAsync(1);
        var trace = page.GetProperty("data")[0];
        Assert.Equal("offline", trace.GetProperty("model").GetString());
        Assert.Equal("ok", trace.GetProperty("status").GetString());
        Assert.Equal("offline", trace.GetProperty("provider").GetString());
        Assert.True(trace.GetProperty("input_tokens").GetInt64() > 0);
        Assert.True(trace.GetProperty("output_tokens").GetInt64() > 0);
        Assert.Equal("provider", trace.GetProperty("token_source").GetString());
        Assert.Equal("redacted", trace.GetProperty("classification").GetString());
        Assert.Matches("^[0-9a-f]{32}$", trace.GetProperty("trace_id").GetString());
        Assert.Contains("EMAIL", trace.GetProperty("redactions").GetString(), StringComparison.Ordinal);

        // Without traces:content, no content; with it, the redacted text.
        var id = trace.GetProperty("id").GetString();
        var plain = await Reader().GetFromJsonAsync<JsonElement>($"/v1/traces/{id}");
        Assert.Equal(JsonValueKind.Null, plain.GetProperty("prompt").ValueKind);
        var full = await Reader(Scopes.TracesRead, Scopes.TracesContent).GetFromJsonAsync<JsonElement>($"/v1/traces/{id}");
        var prompt = full.GetProperty("prompt").GetString()!;
        Assert.Contains("[EMAIL]", prompt, StringComparison.Ordinal);
        Assert.Contains("[CARD]", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("jane@example.com", prompt, StringComparison.Ordinal);
        Assert.StartsWith("Offline answer", full.GetProperty("output").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailuresCacheHitsAndStreamsAreTracedToo()
    {
        Upstream.Default = FakeUpstream.Fault.Error(500);
        using (await PostAsync(Chat("will fail"))) { }
        using (await PostAsync(Chat("cached", model: "offline", temperature: 0))) { }
        using (await PostAsync(Chat("cached", model: "offline", temperature: 0))) { }
        using (var stream = await PostAsync(Chat("streamed", model: "offline", stream: true)))
        {
            await ReadStreamAsync(stream);
        }

        var traces = (await WaitForTracesAsync(4)).GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(4, traces.Count);
        Assert.Contains(traces, t => t.GetProperty("status").GetString() == "error" && t.GetProperty("retries").GetInt32() == 2);
        Assert.Contains(traces, t => t.GetProperty("cached").GetBoolean());
        Assert.Contains(traces, t => t.GetProperty("streamed").GetBoolean() && t.GetProperty("ttft_ms").GetDouble() >= 0);
    }

    [Fact]
    public async Task KeysetPagesReturnEveryTraceOnceNewestFirst()
    {
        for (var i = 0; i < 7; i++)
        {
            using var response = await PostAsync(Chat("page " + i, model: "offline"));
        }

        await WaitForTracesAsync(7);
        var seen = new List<(DateTimeOffset, string)>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await Reader().GetFromJsonAsync<JsonElement>("/v1/traces?limit=3" + (cursor is null ? string.Empty : "&cursor=" + cursor));
            seen.AddRange(page.GetProperty("data").EnumerateArray().Select(t => (t.GetProperty("started_at").GetDateTimeOffset(), t.GetProperty("id").GetString()!)));
            cursor = page.GetProperty("next_cursor").GetString();
            pages++;
        }
        while (cursor is not null && pages < 10);

        Assert.Equal(3, pages);
        Assert.Equal(7, seen.Select(s => s.Item2).Distinct().Count());
        Assert.Equal(seen.OrderByDescending(s => s.Item1).ThenByDescending(s => s.Item2).ToList(), seen);
    }

    [Fact]
    public async Task ATraceCarriesItsCostFromThePriceTableAndACacheHitCostsNothing()
    {
        var body = Chat("What does this cost?", model: "offline", temperature: 0);
        for (var i = 0; i < 2; i++)
        {
            using var response = await PostAsync(body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var traces = (await WaitForTracesAsync(2)).GetProperty("data").EnumerateArray().ToList();
        var miss = Assert.Single(traces, t => !t.GetProperty("cached").GetBoolean());
        var hit = Assert.Single(traces, t => t.GetProperty("cached").GetBoolean());
        var expected = ((miss.GetProperty("input_tokens").GetInt64() * 2.5m) + (miss.GetProperty("output_tokens").GetInt64() * 10m)) / 1_000_000m;
        Assert.True(expected > 0);
        Assert.Equal(expected, miss.GetProperty("cost_usd").GetDecimal());
        Assert.Equal(0m, hit.GetProperty("cost_usd").GetDecimal());
        Assert.Equal(0f, miss.GetProperty("temperature").GetSingle());
        Assert.Equal("stop", miss.GetProperty("finish_reason").GetString());
        Assert.False(string.IsNullOrEmpty(miss.GetProperty("response_model").GetString()));
    }

    [Fact]
    public async Task AnotherTenantSeesNoneOfIt()
    {
        using (await PostAsync(Chat("mine", model: "offline"))) { }
        var id = (await WaitForTracesAsync(1)).GetProperty("data")[0].GetProperty("id").GetString();

        var other = Factory.CreateClientFor("other-" + Tenant, "eve", Scopes.TracesRead, Scopes.TracesContent);
        var theirs = await other.GetFromJsonAsync<JsonElement>("/v1/traces");
        Assert.Equal(0, theirs.GetProperty("data").GetArrayLength());
        using var direct = await other.GetAsync($"/v1/traces/{id}");
        Assert.Equal(HttpStatusCode.NotFound, direct.StatusCode);
    }

    [Fact]
    public async Task AnExportStreamsEveryMatchingTraceOnceNewestFirstAndIsAudited()
    {
        // More rows than one export batch, many sharing a timestamp, beside another tenant's rows.
        var data = Factory.Services.GetRequiredService<TenantData>();
        var origin = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        TraceRecord Row(string tenant, int i, string model) => new()
        {
            Id = Guid.NewGuid(),
            TenantId = tenant,
            ModelAlias = model,
            Status = i % 7 == 0 ? "error" : "ok",
            StartedAt = origin.AddSeconds(i / 3),
            TokenSource = "none",
        };
        var mine = Enumerable.Range(0, App.Api.Traces.TracesApi.ExportBatch * 2 + 37).Select(i => Row(Tenant, i, i % 2 == 0 ? "a" : "b")).ToList();
        await data.WriteAsync(Tenant, db => { db.Traces.AddRange(mine); return Task.CompletedTask; }, CancellationToken.None);
        var other = "other-" + Tenant;
        await data.WriteAsync(other, db => { db.Traces.AddRange(Enumerable.Range(0, 5).Select(i => Row(other, i, "a"))); return Task.CompletedTask; }, CancellationToken.None);

        var reader = Reader();
        using var response = await reader.GetAsync("/v1/traces/export");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var seen = lines.Select(l => (At: l.GetProperty("started_at").GetDateTimeOffset(), Id: l.GetProperty("id").GetGuid())).ToList();
        Assert.Equal(mine.Select(t => t.Id).Order(), seen.Select(s => s.Id).Order());
        Assert.True(seen.Zip(seen.Skip(1)).All(p => p.First.At > p.Second.At || (p.First.At == p.Second.At && p.First.Id.CompareTo(p.Second.Id) > 0)), "newest first, id as the tie-breaker");
        Assert.All(lines, l => Assert.False(l.TryGetProperty("prompt", out _), "no content in exports"));

        // Filters as the list takes them.
        using var filtered = await reader.GetAsync($"/v1/traces/export?model=a&status=error&from={Uri.EscapeDataString(origin.AddSeconds(10).ToString("O"))}");
        var expected = mine.Count(t => t.ModelAlias == "a" && t.Status == "error" && t.StartedAt >= origin.AddSeconds(10));
        Assert.Equal(expected, (await filtered.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        // Each export is on the record, with its filters; the other tenant's export holds only its own rows.
        var audit = await data.ReadAsync(Tenant, db => Task.FromResult(db.AuditEntries.Where(e => e.Kind == App.Application.Audit.AuditKinds.TracesExported).OrderBy(e => e.Sequence).ToList()), CancellationToken.None);
        Assert.Equal(2, audit.Count);
        Assert.Equal("reader", audit[0].Actor);
        Assert.Contains("\"model\":\"a\"", audit[1].Data, StringComparison.Ordinal);
        var theirs = await Factory.CreateClientFor(other, "eve", Scopes.TracesRead).GetStringAsync("/v1/traces/export");
        Assert.Equal(5, theirs.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        using var noScope = await Client.GetAsync("/v1/traces/export");
        Assert.Equal(HttpStatusCode.Forbidden, noScope.StatusCode);
    }

    [Fact]
    public async Task FiltersNarrowTheListByModelStatusAndTimeAcrossPages()
    {
        var origin = new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero);
        var rows = Enumerable.Range(0, 60).Select(i => new TraceRecord
        {
            Id = Guid.NewGuid(),
            TenantId = Tenant,
            ModelAlias = i % 3 == 0 ? "a" : "b",
            Status = i % 4 == 0 ? "error" : "ok",
            StartedAt = origin.AddMinutes(i),
            TokenSource = "none",
        }).ToList();
        await Factory.Services.GetRequiredService<TenantData>().WriteAsync(Tenant, db => { db.Traces.AddRange(rows); return Task.CompletedTask; }, CancellationToken.None);

        var (from, to) = (origin.AddMinutes(10), origin.AddMinutes(50));
        var expected = rows.Where(r => r.ModelAlias == "a" && r.Status == "ok" && r.StartedAt >= from && r.StartedAt < to).OrderByDescending(r => r.StartedAt).Select(r => r.Id).ToList();
        Assert.NotEmpty(expected);
        var seen = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = await Reader().GetFromJsonAsync<JsonElement>(
                $"/v1/traces?model=a&status=ok&from={Uri.EscapeDataString(from.ToString("O"))}&to={Uri.EscapeDataString(to.ToString("O"))}&limit=4" + (cursor is null ? string.Empty : "&cursor=" + cursor));
            seen.AddRange(page.GetProperty("data").EnumerateArray().Select(t => t.GetProperty("id").GetGuid()));
            cursor = page.GetProperty("next_cursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(expected, seen);
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=1000")]
    [InlineData("cursor=not-a-cursor")]
    [InlineData("status=fine")]
    [InlineData("from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z")]
    public async Task BadPagingOrFiltersAre400(string query)
    {
        using var response = await Reader().GetAsync("/v1/traces?" + query);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        if (!query.StartsWith("limit", StringComparison.Ordinal) && !query.StartsWith("cursor", StringComparison.Ordinal))
        {
            using var export = await Reader().GetAsync("/v1/traces/export?" + query);
            Assert.Equal(HttpStatusCode.BadRequest, export.StatusCode);
        }
    }

    [Fact]
    public async Task ReadingTracesNeedsTheScope()
    {
        using var response = await Client.GetAsync("/v1/traces");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task AFullQueueDropsAndCountsInsteadOfBlocking()
    {
        // A writer that is not running: its queue only fills.
        var writer = new TraceWriter(
            Factory.Services.GetRequiredService<TenantData>(),
            Factory.Services.GetRequiredService<KeyEncryption>(),
            Options.Create(new TraceOptions { QueueCapacity = 2 }),
            NullLogger<TraceWriter>.Instance);
        var draft = new TraceDraft(new TraceRecord { Id = Guid.NewGuid(), TenantId = Tenant, ModelAlias = "m", Status = "ok", TokenSource = "none" }, null, null);
        Assert.True(writer.TryRecord(draft));
        Assert.True(writer.TryRecord(draft));
        Assert.False(writer.TryRecord(draft));
        Assert.Equal(1, writer.Dropped);
        await Task.CompletedTask;
    }
}

/// <summary>A graceful stop writes every queued trace before the process ends.</summary>
public sealed class TraceDurabilityTests : IAsyncLifetime
{
    private TestDatabase _database = null!;
    private IRedisServer _redis = null!;

    public async Task InitializeAsync()
    {
        _redis = await SharedServers.RedisAsync();
        _database = await Databases.SharedAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task NRequestsThenAGracefulStopLeaveExactlyNTraces()
    {
        const int n = 40;
        var tenant = "dur-" + Guid.NewGuid().ToString("N")[..8];
        // A long flush interval and a large batch: the traces are still queued when the stop begins.
        var factory = new GatewayFactory(_redis.ConnectionString, _database, new Settings()
            .With("Traces:FlushInterval", "00:00:30")
            .With("Traces:BatchSize", "10000"));
        var client = factory.CreateClientFor(tenant);
        await Task.WhenAll(Enumerable.Range(0, n).Select(async i =>
        {
            using var response = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "offline", messages = new[] { new { role = "user", content = "durable " + i } } });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }));
        await factory.DisposeAsync(); // graceful stop: the writer drains

        await using var connection = new Npgsql.NpgsqlConnection(_database.Runtime);
        await connection.OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        await using (var bind = new Npgsql.NpgsqlCommand("SELECT set_config('app.tenant_id', @t, true)", connection, tx))
        {
            bind.Parameters.AddWithValue("t", tenant);
            await bind.ExecuteNonQueryAsync();
        }

        await using var count = new Npgsql.NpgsqlCommand("SELECT count(*) FROM app.traces", connection, tx);
        Assert.Equal((long)n, (long)(await count.ExecuteScalarAsync())!);
    }
}

/// <summary>When the provider reports no usage, the trace counts tokens with the o200k_base tokenizer and says so.</summary>
public class TokenizerFallbackTests : GatewayTest
{
    protected override Settings Configure(Settings settings) => base.Configure(settings).With("Traces:FlushInterval", "00:00:00.050");

    [Fact]
    public async Task AStreamWithoutUsageIsCountedWithTheTokenizer()
    {
        Upstream.Behaviour.OmitUsage = true;
        string text;
        using (var response = await PostAsync(Chat("count these tokens for me", stream: true)))
        {
            text = (await ReadStreamAsync(response)).Text;
        }

        var reader = Factory.CreateClientFor(Tenant, "reader", Scopes.TracesRead);
        JsonElement trace = default;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var page = await reader.GetFromJsonAsync<JsonElement>("/v1/traces");
            if (page.GetProperty("data").GetArrayLength() > 0)
            {
                trace = page.GetProperty("data")[0];
                break;
            }

            await Task.Delay(50);
        }

        Assert.Equal("tokenizer", trace.GetProperty("token_source").GetString());
        Assert.Equal(App.Infrastructure.Traces.TokenCounter.Count(text), trace.GetProperty("output_tokens").GetInt64());
        Assert.Equal(App.Infrastructure.Traces.TokenCounter.CountPrompt([("user", "count these tokens for me")]), trace.GetProperty("input_tokens").GetInt64());
    }
}
