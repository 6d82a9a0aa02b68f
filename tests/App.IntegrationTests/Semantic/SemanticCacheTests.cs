using System.Net;
using App.Testing;

namespace App.IntegrationTests.Semantic;

/// <summary>
/// The semantic cache through the real service: opted in for the alias <c>gpt</c> and two tenants, questions embedded by
/// the offline model, answers from the fake upstream (which counts its calls).
/// </summary>
public class SemanticCacheTests : GatewayTest
{
    private readonly string _otherTenant = "t-" + Guid.NewGuid().ToString("N")[..10];

    protected override Settings Configure(Settings settings) =>
        base.Configure(settings)
            .With("Cache:Semantic:Enabled", "true")
            .With("Cache:Semantic:Models:0", "gpt")
            .With("Cache:Semantic:Tenants:0", Tenant)
            .With("Cache:Semantic:Tenants:1", _otherTenant);

    [Fact]
    public async Task AParaphraseIsAnsweredFromTheCacheAsASemanticHitWithNoScoreOrKeyEchoed()
    {
        using var first = await PostAsync(Chat("What is the capital of France?", temperature: 0));
        var answer = await ReadAsync(first);
        Assert.Equal("miss", Header(first, "x-cache"));

        using var paraphrase = await PostAsync(Chat("What's the capital of France?", temperature: 0));
        var replayed = await ReadAsync(paraphrase);

        Assert.Equal("semantic-hit", Header(paraphrase, "x-cache"));
        Assert.Equal(1, Upstream.Requests);
        Assert.Equal(Content(answer), Content(replayed));
        Assert.DoesNotContain(paraphrase.Headers, h => h.Key.Contains("similar", StringComparison.OrdinalIgnoreCase) || h.Key.Contains("score", StringComparison.OrdinalIgnoreCase) || h.Key.Contains("key", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task ANegationAChangedEntityAChangedNumberAndASampledRequestGoUpstream()
    {
        using (await PostAsync(Chat("What is the capital of France?", temperature: 0)))
        using (await PostAsync(Chat("How many days are in 3 weeks?", temperature: 0)))
        {
        }

        foreach (var question in new[] { "What is not the capital of France?", "What is the capital of Germany?", "How many days are in 4 weeks?" })
        {
            using var response = await PostAsync(Chat(question, temperature: 0));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("miss", Header(response, "x-cache"));
        }

        using var sampled = await PostAsync(Chat("What's the capital of France?", temperature: 0.7));
        Assert.Equal("bypass", Header(sampled, "x-cache"));
        Assert.Equal(6, Upstream.Requests);
    }

    [Fact]
    public async Task AnotherTenantNeverGetsThisTenantsAnswerEvenForTheSameQuestion()
    {
        using (await PostAsync(Chat("What is the capital of France?", temperature: 0)))
        {
        }

        // Opted in too, asking a paraphrase: its own partition holds nothing.
        using var other = Factory.CreateClientFor(_otherTenant);
        using (var response = await other.PostAsync("/v1/chat/completions", Body("What's the capital of France?")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("miss", Header(response, "x-cache"));
        }

        // Not opted in, asking the very question: the exact cache is per tenant too.
        using var stranger = Factory.CreateClientFor("t-" + Guid.NewGuid().ToString("N")[..10]);
        using (var response = await stranger.PostAsync("/v1/chat/completions", Body("What is the capital of France?")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("miss", Header(response, "x-cache"));
        }

        Assert.Equal(3, Upstream.Requests);
    }

    [Fact]
    public async Task AStreamedAnswerIsKeptForParaphrasesToo()
    {
        string streamedText;
        using (var streamed = await PostAsync(Chat("What is the capital of France?", temperature: 0, stream: true), completion: HttpCompletionOption.ResponseHeadersRead))
        {
            var result = await ReadStreamAsync(streamed);
            Assert.True(result.Done);
            streamedText = result.Text;
        }

        using var paraphrase = await PostAsync(Chat("What's the capital of France?", temperature: 0));
        var replayed = await ReadAsync(paraphrase);

        Assert.Equal("semantic-hit", Header(paraphrase, "x-cache"));
        Assert.Equal(streamedText, Content(replayed));
        Assert.Equal(1, Upstream.Requests);
    }

    [Fact]
    public async Task ARequestCanRaiseTheThresholdButNeverLowerItAndAValueThatIsNotOneIsRefused()
    {
        using (await PostAsync(Chat("What is the capital of France?", temperature: 0)))
        {
        }

        // Raised to 1: the paraphrase the default threshold serves (the first test) now goes upstream.
        using (var strict = await AskAsync("What's the capital of France?", "1"))
        {
            Assert.Equal(HttpStatusCode.OK, strict.StatusCode);
            Assert.Equal("miss", Header(strict, "x-cache"));
        }

        // Asked at 0: a question on the same entity that is no paraphrase is still held to the configured threshold.
        using (var lowered = await AskAsync("Describe the history of France.", "0"))
        {
            Assert.Equal(HttpStatusCode.OK, lowered.StatusCode);
            Assert.Equal("miss", Header(lowered, "x-cache"));
        }

        Assert.Equal(3, Upstream.Requests);
        foreach (var bad in new[] { "high", "1.5", "-0.1", "0.9,0.95" })
        {
            using var refused = await AskAsync("What is the capital of France?", bad);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("x-semantic-threshold", (await ReadAsync(refused)).GetProperty("error").GetProperty("param").GetString());
        }

        Assert.Equal(3, Upstream.Requests);
    }

    private async Task<HttpResponseMessage> AskAsync(string question, string threshold)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Body(question) };
        request.Headers.TryAddWithoutValidation("x-semantic-threshold", threshold);
        return await Client.SendAsync(request);
    }

    private static StringContent Body(string question) =>
        new(Chat(question, temperature: 0).ToJsonString(), System.Text.Encoding.UTF8, "application/json");

    private static string? Content(System.Text.Json.JsonElement completion) =>
        completion.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();
}
