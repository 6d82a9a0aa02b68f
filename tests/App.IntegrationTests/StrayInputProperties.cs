using System.Globalization;
using System.Net;
using System.Text;
using App.Application.Identity;
using App.Infrastructure.Persistence;
using App.Testing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace App.IntegrationTests;

/// <summary>A hostile string: NULs, lone surrogates, control and format characters, emoji, 10 KB runs, quotes.</summary>
public sealed record StrayText(string Value)
{
    public override string ToString() => string.Concat(Value.Take(80).Select(c => c is >= ' ' and <= '~' ? c.ToString() : $"\\u{(int)c:x4}")) + (Value.Length > 80 ? $"... ({Value.Length} chars)" : string.Empty);
}

public static class StrayTextGenerators
{
    private static readonly string[] Pieces =
    [
        "gpt", "hello", "\0", "\uD800", "\uDC00", "\uDBFF\uDFFF", "\u200F", "\u202E", "\uFEFF", "\U0001F600", "\u0001", "\u007F", "\u0085",
        "\"", "\\", "'; DROP TABLE app.traces; --", "%00", new string('x', 10 * 1024), new string('m', 65), "\u00e9\u0301",
    ];

    public static Arbitrary<StrayText> Texts() => Arb.From(
        from count in Gen.Choose(1, 4)
        from parts in Gen.ArrayOf(Gen.Elements(Pieces), count)
        select new StrayText(string.Concat(parts)));
}

/// <summary>
/// Hostile strings in every field that reaches a trace, a job or a filter, through the real API and database: no
/// answer is a 5xx, and every call answered alongside them (the same tenant, the same writer batches) has its trace.
/// </summary>
[Collection("stray input")]
public sealed class StrayInputProperties : IAsyncLifetime
{
    private GatewayFactory _factory = null!;

    public async Task InitializeAsync()
    {
        // A database and a stream of its own: the jobs accepted here never run, and in a shared database other tests'
        // workers would sweep them up as stale and run them against their own upstreams.
        var redis = await SharedServers.RedisAsync();
        _factory = new GatewayFactory(redis.ConnectionString, await Databases.OwnAsync(nameof(StrayInputProperties)), new Settings()
            .With("Cache:KeyPrefix", $"test:{Guid.NewGuid():N}:")
            .With("Jobs:StreamKey", $"test:{Guid.NewGuid():N}:jobs")
            .With("Traces:FlushInterval", "00:00:00.300")
            .With("Jobs:RunWorkers", "false")
            .Route("gpt", Deployment.Offline("offline")));
        _factory.CreateClient().Dispose();
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    // Every character outside printable ASCII is sent as a \u escape, as an attacker would send a lone surrogate.
    private static string JsonString(string value)
    {
        var json = new StringBuilder("\"");
        foreach (var c in value)
        {
            json.Append(c is >= ' ' and <= '~' and not '"' and not '\\' ? c.ToString() : string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"));
        }

        return json.Append('"').ToString();
    }

    private static string Request(string model, string content, string? name = null, string? user = null, string? stop = null) =>
        $$"""{"model":{{JsonString(model)}},"messages":[{"role":"user","content":{{JsonString(content)}}{{(name is null ? "" : $",\"name\":{JsonString(name)}")}}}],"temperature":0.7{{(user is null ? "" : $",\"user\":{JsonString(user)}")}}{{(stop is null ? "" : $",\"stop\":[{JsonString(stop)}]")}}}""";

    private static async Task<(HttpStatusCode Status, string TraceId)> SendAsync(HttpClient client, HttpMethod method, string path, string? json = null, string? key = null)
    {
        var traceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        using var message = new HttpRequestMessage(method, path);
        message.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray())[..16]}-01");
        if (json is not null)
        {
            message.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        if (key is not null)
        {
            message.Headers.Add("Idempotency-Key", key);
        }

        using var response = await client.SendAsync(message);
        return (response.StatusCode, traceId);
    }

    [Property(Arbitrary = [typeof(StrayTextGenerators)], MaxTest = 30)]
    public bool NoFieldAnswers5xxAndEveryAnsweredCallIsTraced(StrayText stray)
    {
        var s = stray.Value;
        var tenant = "stray-" + Guid.NewGuid().ToString("N")[..10];
        using var client = _factory.CreateClientFor(tenant, "user-1", Scopes.ChatInvoke, Scopes.JobsWrite, Scopes.TracesRead);
        var escaped = Uri.EscapeDataString(s.Replace('\uD800', '?').Replace('\uDC00', '?').Replace('\uDBFF', '?').Replace('\uDFFF', '?'));
        var calls = new List<Task<(HttpStatusCode Status, string TraceId)>>
        {
            SendAsync(client, HttpMethod.Post, "/v1/chat/completions", Request(s, "hi")),
            SendAsync(client, HttpMethod.Post, "/v1/chat/completions", Request("gpt", s)),
            SendAsync(client, HttpMethod.Post, "/v1/chat/completions", Request("gpt", "hi", name: s)),
            SendAsync(client, HttpMethod.Post, "/v1/chat/completions", Request("gpt", "hi", user: s)),
            SendAsync(client, HttpMethod.Post, "/v1/chat/completions", Request("gpt", "hi", stop: s)),
            SendAsync(client, HttpMethod.Post, "/v1/chat/completions", Request("gpt", "a well-formed call beside them")),
            SendAsync(client, HttpMethod.Post, "/v1/jobs", $"{{\"request\":{Request(s, "hi")}}}", "k1-" + Guid.NewGuid()),
            SendAsync(client, HttpMethod.Post, "/v1/jobs", $"{{\"request\":{Request("gpt", s, user: s)}}}", "k2-" + Guid.NewGuid()),
            SendAsync(client, HttpMethod.Get, "/v1/traces?model=" + escaped),
            SendAsync(client, HttpMethod.Get, "/v1/traces?status=" + escaped),
            SendAsync(client, HttpMethod.Get, "/v1/traces?cursor=" + escaped),
            SendAsync(client, HttpMethod.Get, "/v1/traces/export?model=" + escaped),
            // A lone surrogate encoded as UTF-8 (invalid) and a NUL, as raw query bytes.
            SendAsync(client, HttpMethod.Get, "/v1/traces?model=%ED%A0%80%00" + escaped),
        };
        var answers = Task.WhenAll(calls).GetAwaiter().GetResult();
        if (answers.Any(a => (int)a.Status >= 500))
        {
            return false;
        }

        var expected = answers.Take(6).Where(a => a.Status == HttpStatusCode.OK).Select(a => a.TraceId).ToHashSet();
        var data = _factory.Services.GetRequiredService<TenantData>();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var stored = data.ReadAsync(tenant, db => db.Traces.Select(t => t.TraceId).ToListAsync(), default).GetAwaiter().GetResult();
            if (expected.IsSubsetOf(stored!))
            {
                return expected.Count >= 1;
            }

            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            Thread.Sleep(50);
        }
    }
}
