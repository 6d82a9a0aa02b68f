using System.Net;
using System.Text;
using System.Text.Json;
using App.FakeUpstream;
using App.Testing;
using NJsonSchema;

namespace App.ContractTests;

/// <summary>
/// The JSON Schemas in src/App.Api/Contracts are the published wire contract. These tests hold the service to
/// them: the request schema and the service agree on what is valid, and every kind of answer matches its schema.
/// </summary>
public sealed class WireContractTests : IAsyncLifetime
{
    private GatewayFactory _factory = null!;
    private HttpClient _client = null!;
    private FakeUpstreamServer _upstream = null!;

    public async Task InitializeAsync()
    {
        var redis = await SharedServers.RedisAsync();
        _upstream = await FakeUpstreamServer.StartAsync();
        _factory = new GatewayFactory(redis.ConnectionString, await Databases.SharedAsync(), new Settings()
            .With("Cache:KeyPrefix", $"contract:{Guid.NewGuid():N}:")
            .Route("offline", Deployment.Offline())
            .Route("flaky", Deployment.OpenAi(_upstream.BaseUrl, "flaky").With("MaxRetries", "0")));
        _client = _factory.CreateClientFor("contracts");
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _factory.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task EverySchemaFileIsAValidSchema()
    {
        var files = Directory.GetFiles(Contracts.Directory, "*.schema.json");
        Assert.True(files.Length >= 6, "all contract schemas are copied next to the tests");
        foreach (var file in files)
        {
            var schema = await JsonSchema.FromFileAsync(file);
            Assert.False(string.IsNullOrEmpty(schema.Title), $"{Path.GetFileName(file)} has a title");
        }
    }

    public static TheoryData<string> Requests => new()
    {
        """{"model":"offline","messages":[{"role":"user","content":"hi"}]}""",
        """{"model":"offline","messages":[{"role":"system","content":"s"},{"role":"user","content":"hi","name":"bob"},{"role":"assistant","content":"a"},{"role":"developer","content":"d"}]}""",
        """{"model":"offline","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi"}],"temperature":0,"top_p":1,"max_tokens":5,"seed":1,"stop":"x","n":1,"presence_penalty":0,"frequency_penalty":0,"user":"u"}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":5,"stop":["a","b"],"response_format":{"type":"json_object"}}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","strict":true,"schema":{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}}}}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"text"},"temperature":null,"stream":false}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}""",
        """{"model":"offline","messages":[]}""",
        """{"model":"offline"}""",
        """{"messages":[{"role":"user","content":"hi"}]}""",
        """{"model":"","messages":[{"role":"user","content":"hi"}]}""",
        """{"model":"offline","messages":[{"role":"tool","content":"hi"}]}""",
        """{"model":"offline","messages":[{"role":"user"}]}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi","extra":1}]}""",
        """{"model":"offline","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi"}],"temperature":3}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi"}],"top_p":-1}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi"}],"max_tokens":0}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi"}],"n":3}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi"}],"stop":["a","b","c","d","e"]}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi"}],"stop":""}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"xml"}}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema"}}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"bad name","schema":{}}}}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi"}],"tools":[]}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi"}],"temperature":"0"}""",
        """{"model":"offline","messages":[{"role":"user","content":"hi"}],"user":"THIS-IS-FAR-TOO-LONG-THIS-IS-FAR-TOO-LONG-THIS-IS-FAR-TOO-LONG-THIS-IS-FAR-TOO-LONG-THIS-IS-FAR-TOO-LONG-THIS-IS-FAR-TOO-LONG-THIS-IS-FAR-TOO-LONG-THIS-IS-FAR-TOO-LONG-THIS-IS-FAR-TOO-LONG-THIS-IS-FAR-TOO-LONG-THIS-IS-FAR-TOO-LONG-THIS-IS-FAR-TOO-LONG-THIS-IS-FAR"}""",
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task TheRequestSchemaAndTheServiceAgreeOnWhatIsValid(string body)
    {
        var schemaSaysValid = (await Contracts.Request).Validate(body).Count == 0;
        using var response = await _client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        var json = await response.Content.ReadAsStringAsync();
        Assert.True(schemaSaysValid == response.IsSuccessStatusCode, $"schema says {(schemaSaysValid ? "valid" : "invalid")}, service answered {(int)response.StatusCode}: {json}");
        if (!response.IsSuccessStatusCode)
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            await Contracts.AssertValidAsync(Contracts.Error, json, "error");
        }
        else if (response.Content.Headers.ContentType?.MediaType == "text/event-stream")
        {
            foreach (var line in json.Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal)))
            {
                await Contracts.AssertValidAsync(Contracts.Chunk, line[6..], "chunk");
            }
        }
        else
        {
            await Contracts.AssertValidAsync(Contracts.Response, json, "chat completion");
        }
    }

    [Theory]
    [InlineData(0, "stop")]
    [InlineData(3, "length")]
    public async Task AnswersMatchTheCompletionContract(int maxTokens, string finish)
    {
        var body = maxTokens > 0
            ? $$"""{"model":"offline","messages":[{"role":"user","content":"contract"}],"max_tokens":{{maxTokens}}}"""
            : """{"model":"offline","messages":[{"role":"user","content":"contract"}]}""";
        using var response = await _client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        var json = await response.Content.ReadAsStringAsync();
        await Contracts.AssertValidAsync(Contracts.Response, json, "chat completion");
        Assert.Equal(finish, JsonDocument.Parse(json).RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task CachedReplaysMatchTheSameContracts()
    {
        const string body = """{"model":"offline","messages":[{"role":"user","content":"replay contract"}],"seed":9}""";
        const string stream = """{"model":"offline","messages":[{"role":"user","content":"replay contract"}],"seed":9,"stream":true,"stream_options":{"include_usage":true}}""";
        for (var i = 0; i < 2; i++)
        {
            using var plain = await _client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
            await Contracts.AssertValidAsync(Contracts.Response, await plain.Content.ReadAsStringAsync(), "chat completion");
            using var streamed = await _client.PostAsync("/v1/chat/completions", new StringContent(stream, Encoding.UTF8, "application/json"));
            Assert.Equal("hit", streamed.Headers.GetValues("x-cache").Single());
            var chunks = (await streamed.Content.ReadAsStringAsync()).Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal)).ToList();
            Assert.True(chunks.Count >= 3);
            foreach (var line in chunks)
            {
                await Contracts.AssertValidAsync(Contracts.Chunk, line[6..], "chunk");
            }
        }
    }

    [Theory]
    [InlineData(500, HttpStatusCode.BadGateway)]
    [InlineData(429, HttpStatusCode.BadGateway)]
    [InlineData(400, HttpStatusCode.BadRequest)]
    [InlineData(401, HttpStatusCode.BadGateway)]
    public async Task UpstreamFailuresMatchTheErrorContract(int upstreamStatus, HttpStatusCode expected)
    {
        _upstream.Enqueue(Fault.Error(upstreamStatus));
        using var response = await _client.PostAsync("/v1/chat/completions", new StringContent("""{"model":"flaky","messages":[{"role":"user","content":"x"}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(expected, response.StatusCode);
        await Contracts.AssertValidAsync(Contracts.Error, await response.Content.ReadAsStringAsync(), "error");
    }

    [Fact]
    public async Task TheModelListMatchesItsContract()
    {
        await Contracts.AssertValidAsync(Contracts.Models, await _client.GetStringAsync("/v1/models"), "model list");
    }
}
