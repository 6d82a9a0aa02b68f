using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using App.FakeUpstream;
using App.Testing;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Embeddings;

namespace App.IntegrationTests.Embeddings;

/// <summary>
/// <c>POST /v1/embeddings</c> through the real service: an OpenAI-compatible model on the fake upstream (which counts
/// the items it is sent) and the default offline model, called with the official OpenAI SDK and with raw JSON.
/// </summary>
public class EmbeddingsTests : GatewayTest
{
    private const int FakeDimensions = 16;

    protected override Settings Configure(Settings settings) =>
        base.Configure(settings)
            .With("Embeddings:Models:fake:Dimensions", FakeDimensions.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .With("Embeddings:Models:fake:SupportsDimensions", "true")
            .With("Embeddings:Models:fake:Deployments:0:Provider", "openai")
            .With("Embeddings:Models:fake:Deployments:0:Model", "fake-embed")
            .With("Embeddings:Models:fake:Deployments:0:BaseUrl", Upstream.BaseUrl.ToString())
            .With("Embeddings:Models:fake:Deployments:0:ApiKey", "sk-test-embeddings")
            .With("Embeddings:Models:fake:Deployments:0:Resilience:RetryBaseDelay", "00:00:00.010")
            .With("Embeddings:MaxItems", "100")
            .With("Embeddings:MaxItemChars", "200");

    private EmbeddingClient Sdk(string model) => new(
        model,
        new ApiKeyCredential(Factory.MintToken(Tenant, "sdk-user", [App.Application.Identity.Scopes.ChatInvoke])),
        new OpenAIClientOptions
        {
            Endpoint = new Uri(Client.BaseAddress!, "/v1"),
            Transport = new HttpClientPipelineTransport(Factory.CreateClient()),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        });

    [Fact]
    public async Task TheOfficialSdkGetsOneVectorPerTextInInputOrder()
    {
        string[] texts = ["first text", "second text", "third text"];
        OpenAIEmbeddingCollection result = await Sdk("fake").GenerateEmbeddingsAsync(texts);

        Assert.Equal(3, result.Count);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal(i, result[i].Index);
            Assert.Equal(FakeEmbeddings.VectorOf(texts[i], FakeDimensions), result[i].ToFloats().ToArray());
        }

        Assert.Equal("fake-embed", result.Model);
        Assert.True(result.Usage.InputTokenCount > 0);
        Assert.Equal(1, Upstream.Embeddings.Requests);
        // user is recorded, never forwarded; vectors are always asked for as floats, whatever the client asked for.
        Assert.DoesNotContain("\"user\"", Upstream.Embeddings.Bodies.Single(), StringComparison.Ordinal);
        Assert.Contains("\"encoding_format\":\"float\"", Upstream.Embeddings.Bodies.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheOfficialSdkAsksForFewerDimensionsWhereTheModelSupportsIt()
    {
        OpenAIEmbedding result = await Sdk("fake").GenerateEmbeddingAsync("shorter", new EmbeddingGenerationOptions { Dimensions = 8 });
        Assert.Equal(FakeEmbeddings.VectorOf("shorter", 8), result.ToFloats().ToArray());
        Assert.Contains("\"dimensions\":8", Upstream.Embeddings.Bodies.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheOfflineModelEmbedsForRealWithNoUpstream()
    {
        OpenAIEmbeddingCollection result = await Sdk("minilm").GenerateEmbeddingsAsync(
            ["How do I reset my password?", "What are the steps to change my password?", "The train to Lyon leaves at noon."]);

        var vectors = result.Select(e => e.ToFloats().ToArray()).ToArray();
        Assert.All(vectors, v => Assert.Equal(384, v.Length));
        var paraphrase = Cosine(vectors[0], vectors[1]);
        var unrelated = Cosine(vectors[0], vectors[2]);
        Assert.True(paraphrase > unrelated + 0.3, $"paraphrase {paraphrase:F3}, unrelated {unrelated:F3}");
        Assert.Equal(0, Upstream.Embeddings.Requests);
    }

    [Fact]
    public async Task TheOfflineModelIsLoadedOnItsFirstCallOnly()
    {
        var model = Factory.Services.GetRequiredService<App.Infrastructure.Resilience.EmbeddingRoutes>().OfflineModels["all-MiniLM-L6-v2"];
        using (var chat = await PostAsync(Chat("no embeddings here", temperature: 0)))
        using (var remote = await EmbedAsync(new JsonObject { ["model"] = "fake", ["input"] = "not offline" }))
        {
            Assert.Equal(HttpStatusCode.OK, remote.StatusCode);
        }

        Assert.False(model.IsLoaded);
        using var offline = await EmbedAsync(new JsonObject { ["model"] = "minilm", ["input"] = "now it loads" });
        Assert.Equal(HttpStatusCode.OK, offline.StatusCode);
        Assert.True(model.IsLoaded);
    }

    [Fact]
    public async Task ABatchOfAHundredWithNinetyCachedSendsOnlyTheTenOthersUpstreamAndAnswersInInputOrder()
    {
        var cached = Enumerable.Range(0, 90).Select(i => $"cached item {i}").ToList();
        using (var warm = await EmbedAsync(new JsonObject { ["model"] = "fake", ["input"] = Strings(cached) }))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
            Assert.Equal("miss", Header(warm, "x-cache"));
        }

        Assert.Equal(90, Upstream.Embeddings.Items);
        // The ten new ones interleaved with the cached ones, so order is not the cache's order.
        var batch = new List<string>(cached);
        for (var i = 0; i < 10; i++)
        {
            batch.Insert(i * 10 + 3, $"new item {i}");
        }

        using var response = await EmbedAsync(new JsonObject { ["model"] = "fake", ["input"] = Strings(batch) });
        var body = await ReadBodyAsync(response);

        Assert.Equal(100, Upstream.Embeddings.Items);
        Assert.Equal(2, Upstream.Embeddings.Requests);
        Assert.Equal("miss", Header(response, "x-cache"));
        var data = body.GetProperty("data");
        Assert.Equal(100, data.GetArrayLength());
        for (var i = 0; i < batch.Count; i++)
        {
            Assert.Equal(i, data[i].GetProperty("index").GetInt32());
            Assert.Equal(FakeEmbeddings.VectorOf(batch[i], FakeDimensions), data[i].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray());
        }

        // All hundred are cached now: nothing goes upstream, and the usage is what they cost when they were sent.
        using var again = await EmbedAsync(new JsonObject { ["model"] = "fake", ["input"] = Strings(batch) });
        var replayed = await ReadBodyAsync(again);
        Assert.Equal("hit", Header(again, "x-cache"));
        Assert.Equal(2, Upstream.Embeddings.Requests);
        var usage = body.GetProperty("usage").GetProperty("prompt_tokens").GetInt64();
        Assert.InRange(replayed.GetProperty("usage").GetProperty("prompt_tokens").GetInt64(), usage - 5, usage + 5);
    }

    [Fact]
    public async Task AnotherTenantDoesNotGetThisTenantsCachedVectors()
    {
        using (var mine = await EmbedAsync(new JsonObject { ["model"] = "fake", ["input"] = "tenant-scoped text" }))
        using (var again = await EmbedAsync(new JsonObject { ["model"] = "fake", ["input"] = "tenant-scoped text" }))
        {
            Assert.Equal("hit", Header(again, "x-cache"));
        }

        using var other = Factory.CreateClientFor("t-other-" + Guid.NewGuid().ToString("N")[..8]);
        using var theirs = await other.PostAsync("/v1/embeddings", Json(new JsonObject { ["model"] = "fake", ["input"] = "tenant-scoped text" }));
        Assert.Equal(HttpStatusCode.OK, theirs.StatusCode);
        Assert.Equal("miss", Header(theirs, "x-cache"));
        Assert.Equal(2, Upstream.Embeddings.Requests);
    }

    [Fact]
    public async Task TokenArraysAreForwardedToAnOpenAiCompatibleModel()
    {
        using var response = await EmbedAsync(JsonNode.Parse("""{"model":"fake","input":[[1,2,3],[40,50]],"encoding_format":"base64"}""")!.AsObject());
        var data = (await ReadBodyAsync(response)).GetProperty("data");
        var first = Convert.FromBase64String(data[0].GetProperty("embedding").GetString()!);
        var floats = Enumerable.Range(0, first.Length / 4).Select(i => BitConverter.ToSingle(first, i * 4)).ToArray();
        Assert.Equal(FakeEmbeddings.VectorOf("[1,2,3]", FakeDimensions), floats);
        Assert.Contains("\"input\":[[1,2,3],[40,50]]", Upstream.Embeddings.Bodies.Single(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"model":"fake"}""", 400, "input")]
    [InlineData("""{"model":"fake","input":null}""", 400, "input")]
    [InlineData("""{"model":"fake","input":""}""", 400, "input")]
    [InlineData("""{"model":"fake","input":[]}""", 400, "input")]
    [InlineData("""{"model":"fake","input":["a",""]}""", 400, "input[1]")]
    [InlineData("""{"model":"fake","input":5}""", 400, "input")]
    [InlineData("""{"model":"fake","input":{"text":"a"}}""", 400, "input")]
    [InlineData("""{"model":"fake","input":["a",1]}""", 400, "input[1]")]
    [InlineData("""{"model":"fake","input":[[1,2],"a"]}""", 400, "input[1]")]
    [InlineData("""{"model":"fake","input":[[1,-2]]}""", 400, "input[0][1]")]
    [InlineData("""{"model":"fake","input":[[]]}""", 400, "input[0]")]
    [InlineData("""{"model":"fake","input":[true]}""", 400, "input[0]")]
    [InlineData("""{"model":"fake","input":"a","encoding_format":"hex"}""", 400, "encoding_format")]
    [InlineData("""{"model":"fake","input":"a","dimensions":0}""", 400, "dimensions")]
    [InlineData("""{"model":"fake","input":"a","dimensions":17}""", 400, "dimensions")]
    [InlineData("""{"model":"fake","input":"a","dimensions":"8"}""", 400, "dimensions")]
    [InlineData("""{"model":"fake","input":"a","colour":"red"}""", 400, "colour")]
    [InlineData("""{"input":"a"}""", 400, "model")]
    [InlineData("""{"model":"no-such-model","input":"a"}""", 404, "model")]
    [InlineData("""{"model":"gpt","input":"a"}""", 404, "model")]
    [InlineData("""{"model":"minilm","input":"a","dimensions":128}""", 400, "dimensions")]
    [InlineData("""{"model":"minilm","input":[[1,2,3]]}""", 400, "input")]
    public async Task BadInputIsAProblemNamingTheMemberAndNothingGoesUpstream(string body, int status, string param)
    {
        using var response = await Client.PostAsync("/v1/embeddings", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await ReadBodyAsync(response);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(param, problem.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(0, Upstream.Embeddings.Requests);
    }

    [Fact]
    public async Task TooManyItemsAndAnOversizedItemAreRefusedNamingTheItem()
    {
        using var many = await EmbedAsync(new JsonObject { ["model"] = "fake", ["input"] = Strings(Enumerable.Range(0, 101).Select(i => $"item {i}")) });
        var tooMany = await ReadBodyAsync(many);
        Assert.Equal(HttpStatusCode.BadRequest, many.StatusCode);
        Assert.Equal("input", tooMany.GetProperty("error").GetProperty("param").GetString());
        Assert.Contains("at most 100", tooMany.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        using var large = await EmbedAsync(new JsonObject { ["model"] = "fake", ["input"] = Strings(["fine", "fine too", new string('x', 201)]) });
        var oversized = await ReadBodyAsync(large);
        Assert.Equal(HttpStatusCode.BadRequest, large.StatusCode);
        Assert.Equal("input[2]", oversized.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(0, Upstream.Embeddings.Requests);
    }

    [Fact]
    public async Task AFailingUpstreamIsRetriedAndThenABadGatewayProblem()
    {
        Upstream.Embeddings.Enqueue(500);
        using (var retried = await EmbedAsync(new JsonObject { ["model"] = "fake", ["input"] = "retry me" }))
        {
            Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        }

        Upstream.Embeddings.Enqueue(500, 500, 500);
        using var failed = await EmbedAsync(new JsonObject { ["model"] = "fake", ["input"] = "fail me" });
        var problem = await ReadBodyAsync(failed);
        Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        Assert.Equal("upstream_error", problem.GetProperty("error").GetProperty("code").GetString());
    }

    /// <summary>An embeddings answer, or an error held to the error contract.</summary>
    private static async Task<JsonElement> ReadBodyAsync(HttpResponseMessage response) =>
        response.IsSuccessStatusCode
            ? JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone()
            : await ReadAsync(response);

    private async Task<HttpResponseMessage> EmbedAsync(JsonObject body) => await Client.PostAsync("/v1/embeddings", Json(body));

    private static StringContent Json(JsonObject body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    private static JsonArray Strings(IEnumerable<string> items) => new([.. items.Select(i => (JsonNode)JsonValue.Create(i)!)]);

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }

        return dot / Math.Sqrt(na * nb);
    }
}
