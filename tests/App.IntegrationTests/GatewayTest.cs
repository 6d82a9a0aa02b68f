using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using App.FakeUpstream;
using App.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace App.IntegrationTests;

/// <summary>
/// The app in-process against a real Redis and a real fault-injecting upstream on loopback. Every <c>/v1</c> answer
/// the tests receive is checked against the wire contracts by the client itself (<see cref="ContractCheckingHandler"/>).
/// </summary>
public abstract class GatewayTest : IAsyncLifetime
{
    protected FakeUpstreamServer Upstream { get; private set; } = null!;

    protected GatewayFactory Factory { get; private set; } = null!;

    protected HttpClient Client { get; private set; } = null!;

    protected IRedisServer Redis { get; private set; } = null!;

    /// <summary>A tenant of this test alone.</summary>
    protected string Tenant { get; } = "t-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>The route under test; by default one OpenAI-compatible deployment on the fake upstream.</summary>
    protected virtual Settings Configure(Settings settings) =>
        settings.Route("gpt", Deployment.OpenAi(Upstream.BaseUrl, "primary").With("RetryBaseDelay", "00:00:00.010"));

    /// <summary>
    /// True for a test that stops Redis or flushes what it holds: it gets a Redis of its own, stopped with it,
    /// instead of the one the other tests share.
    /// </summary>
    protected virtual bool OwnRedis => false;

    private IRedisServer? _ownRedis;

    /// <summary>The database the app uses: the one the run shares, unless the test needs one of its own.</summary>
    protected virtual Task<TestDatabase> DatabaseAsync() => Databases.SharedAsync();

    /// <summary>Services added after the app's own, for example a log sink to read what the app logged.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    /// <summary>For tests that need more servers than Redis and one upstream; runs before <see cref="Configure"/>.</summary>
    protected virtual Task StartMoreServersAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        Redis = OwnRedis ? _ownRedis = await TestServers.StartRedisAsync() : await SharedServers.RedisAsync();
        Upstream = await FakeUpstreamServer.StartAsync();
        await StartMoreServersAsync();
        // A key prefix and a job stream per test keep tests that share one Redis from hitting each other's entries, and
        // from running each other's jobs against their own upstreams.
        var settings = Configure(new Settings().With("Cache:KeyPrefix", $"test:{Guid.NewGuid():N}:").With("Jobs:StreamKey", $"test:{Guid.NewGuid():N}:jobs"));
        Factory = new GatewayFactory(Redis.ConnectionString, await DatabaseAsync(), settings) { ExtraServices = ConfigureServices };
        Client = Factory.CreateClientFor(Tenant);
    }

    public virtual async Task DisposeAsync()
    {
        Client.Dispose();
        await Factory.DisposeAsync();
        await Upstream.DisposeAsync();
        if (_ownRedis is not null)
        {
            await _ownRedis.DisposeAsync();
        }
    }

    protected static JsonObject Chat(string prompt, string model = "gpt", double? temperature = null, bool stream = false, bool includeUsage = false)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
        };
        if (temperature is not null)
        {
            body["temperature"] = temperature;
        }

        if (stream)
        {
            body["stream"] = true;
            if (includeUsage)
            {
                body["stream_options"] = new JsonObject { ["include_usage"] = true };
            }
        }

        return body;
    }

    protected async Task<HttpResponseMessage> PostAsync(JsonObject body, bool noStore = false, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead, CancellationToken cancellationToken = default)
    {
        await Contracts.AssertValidAsync(Contracts.Request, body.ToJsonString(), "request");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (noStore)
        {
            request.Headers.CacheControl = new System.Net.Http.Headers.CacheControlHeaderValue { NoStore = true };
        }

        return await Client.SendAsync(request, completion, cancellationToken);
    }

    /// <summary>Reads a JSON answer, checking it against the completion or the error contract.</summary>
    protected static async Task<JsonElement> ReadAsync(HttpResponseMessage response)
    {
        var json = await response.Content.ReadAsStringAsync();
        if (response.IsSuccessStatusCode)
        {
            await Contracts.AssertValidAsync(Contracts.Response, json, "chat completion");
        }
        else
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            await Contracts.AssertValidAsync(Contracts.Error, json, "error");
        }

        return JsonDocument.Parse(json).RootElement.Clone();
    }

    /// <summary>Reads a whole stream, checking each chunk and any error event against their contracts.</summary>
    protected static async Task<StreamResult> ReadStreamAsync(HttpResponseMessage response)
    {
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await Sse.ReadAllAsync(response);
        var text = new StringBuilder();
        string? finish = null;
        JsonElement? usage = null;
        var done = false;
        JsonElement? error = null;
        foreach (var e in events)
        {
            Assert.False(done, "nothing may follow [DONE]");
            if (e.Event == "error")
            {
                await Contracts.AssertValidAsync(Contracts.StreamError, e.Data, "stream error event");
                error = JsonDocument.Parse(e.Data).RootElement.Clone();
                continue;
            }

            Assert.Null(error);
            if (e.Data == "[DONE]")
            {
                done = true;
                continue;
            }

            await Contracts.AssertValidAsync(Contracts.Chunk, e.Data, "chunk");
            var chunk = JsonDocument.Parse(e.Data).RootElement;
            foreach (var choice in chunk.GetProperty("choices").EnumerateArray())
            {
                if (choice.GetProperty("delta").TryGetProperty("content", out var c))
                {
                    text.Append(c.GetString());
                }

                if (choice.GetProperty("finish_reason").ValueKind == JsonValueKind.String)
                {
                    finish = choice.GetProperty("finish_reason").GetString();
                }
            }

            if (chunk.TryGetProperty("usage", out var u))
            {
                usage = u.Clone();
            }
        }

        return new StreamResult(events, text.ToString(), finish, usage, done, error);
    }

    protected static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    protected async Task<JsonElement> ReadyAsync()
    {
        var response = await Client.GetAsync("/health/ready");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).Clone();
    }
}

/// <summary>A route with a primary on <see cref="GatewayTest.Upstream"/> and a fallback on <see cref="Secondary"/>.</summary>
public abstract class TwoUpstreamTest : GatewayTest
{
    protected FakeUpstreamServer Secondary { get; private set; } = null!;

    protected override async Task StartMoreServersAsync() => Secondary = await FakeUpstreamServer.StartAsync();

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Secondary.DisposeAsync();
    }
}

public sealed record StreamResult(List<SseEvent> Events, string Text, string? FinishReason, JsonElement? Usage, bool Done, JsonElement? Error);
