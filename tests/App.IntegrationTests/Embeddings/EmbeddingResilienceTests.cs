using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using App.Testing;

namespace App.IntegrationTests.Embeddings;

/// <summary>
/// An embedding deployment's concurrency limit and circuit breaker, as for chat: past the limit and its queue a call is
/// told to come back (503 with Retry-After) at once, and a deployment that keeps failing is left alone for its break.
/// </summary>
public class EmbeddingResilienceTests : GatewayTest
{
    protected override Settings Configure(Settings settings) =>
        base.Configure(settings)
            .With("Embeddings:Models:fake:Dimensions", "16")
            .With("Embeddings:Models:fake:Deployments:0:Provider", "openai")
            .With("Embeddings:Models:fake:Deployments:0:Model", "fake-embed")
            .With("Embeddings:Models:fake:Deployments:0:BaseUrl", Upstream.BaseUrl.ToString())
            .With("Embeddings:Models:fake:Deployments:0:ApiKey", "sk-test-embeddings")
            .With("Embeddings:Models:fake:Deployments:0:Resilience:MaxRetries", "0")
            .With("Embeddings:Models:fake:Deployments:0:Resilience:MaxConcurrency", "1")
            .With("Embeddings:Models:fake:Deployments:0:Resilience:QueueLimit", "0")
            .With("Embeddings:Models:fake:Deployments:0:Resilience:BreakerMinimumThroughput", "2")
            .With("Embeddings:Models:fake:Deployments:0:Resilience:BreakerFailureRatio", "0.5")
            .With("Embeddings:Models:fake:Deployments:0:Resilience:BreakerBreakDuration", "00:00:30");

    private Task<HttpResponseMessage> EmbedAsync(string text) =>
        Client.PostAsync("/v1/embeddings", new StringContent(new JsonObject { ["model"] = "fake", ["input"] = text }.ToJsonString(), Encoding.UTF8, "application/json"));

    [Fact]
    public async Task PastTheConcurrencyLimitACallIsToldToComeBackAtOnce()
    {
        Upstream.Embeddings.Delay = TimeSpan.FromSeconds(2);
        var first = EmbedAsync("the one in flight");
        while (Upstream.Embeddings.Requests == 0)
        {
            await Task.Delay(10);
        }

        var clock = Stopwatch.StartNew();
        using var second = await EmbedAsync("the one over the limit");
        clock.Stop();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        Assert.NotNull(second.Headers.RetryAfter);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"the refusal took {clock.Elapsed.TotalSeconds:0.0} s");
        using var answered = await first;
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal(1, Upstream.Embeddings.Requests);
    }

    [Fact]
    public async Task ADeploymentThatKeepsFailingIsLeftAloneForItsBreak()
    {
        Upstream.Embeddings.Enqueue(500, 500, 500, 500);
        for (var i = 0; i < 2; i++)
        {
            using var failed = await EmbedAsync($"failing {i}");
            Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        }

        using var refused = await EmbedAsync("while the circuit is open");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("overloaded", problem.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(2, Upstream.Embeddings.Requests);
    }
}
