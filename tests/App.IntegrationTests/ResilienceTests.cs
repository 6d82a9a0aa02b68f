using System.Net;
using App.FakeUpstream;
using App.Testing;

namespace App.IntegrationTests;

public class ResilienceTests : GatewayTest
{
    [Fact]
    public async Task RetriesA429HonouringRetryAfterThenSucceeds()
    {
        Upstream.Enqueue(Fault.Error(429, retryAfter: "1"));
        using var response = await PostAsync(Chat("hello"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await ReadAsync(response);
        Assert.Equal(2, Upstream.Requests);
        var times = Upstream.Received.Select(r => r.At).ToList();
        Assert.True(times[1] - times[0] >= TimeSpan.FromMilliseconds(900), $"the retry waited {(times[1] - times[0]).TotalMilliseconds} ms, less than Retry-After");
    }

    [Fact]
    public async Task Retries5xxThenSucceeds()
    {
        Upstream.Enqueue(Fault.Error(500), Fault.Error(503));
        using var response = await PostAsync(Chat("hello"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await ReadAsync(response);
        Assert.StartsWith("Echo: hello", body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, Upstream.Requests);
    }

    [Fact]
    public async Task GivesUpAfterTheConfiguredRetriesWith502()
    {
        Upstream.Default = Fault.Error(500);
        using var response = await PostAsync(Chat("hello"));
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var body = await ReadAsync(response);
        Assert.Equal("urn:app:problem:upstream-unavailable", body.GetProperty("type").GetString());
        Assert.Equal(3, Upstream.Requests); // 1 + MaxRetries (2)
    }

    [Fact]
    public async Task AnUpstreamBadRequestIsNotRetried()
    {
        Upstream.Enqueue(Fault.Error(400));
        using var response = await PostAsync(Chat("hello"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await ReadAsync(response);
        Assert.Equal("upstream_rejected", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(1, Upstream.Requests);
    }

    [Theory]
    [InlineData(302)]
    [InlineData(307)]
    public async Task AnUpstreamRedirectIsNeitherFollowedNorRetried(int status)
    {
        // Followed, the redirect would reach a healthy upstream (the same fake, answering normally next time).
        Upstream.Enqueue(Fault.Redirect(status, Upstream.BaseUrl.AbsoluteUri.TrimEnd('/') + "/chat/completions"));
        using var response = await PostAsync(Chat("hello"));
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        await ReadAsync(response);
        Assert.Equal(1, Upstream.Requests);
    }

    [Fact]
    public async Task MalformedUpstreamJsonIsRetriedAndThenReportedAs502()
    {
        Upstream.Enqueue(new Fault(FaultKind.Malformed));
        using var recovered = await PostAsync(Chat("hello"));
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);

        Upstream.Default = new Fault(FaultKind.Malformed);
        using var failed = await PostAsync(Chat("hello again"));
        Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        await ReadAsync(failed);
    }

    [Fact]
    public async Task UpstreamServerSeesNoUserFieldAndGetsTheDeploymentModelAndKey()
    {
        var body = Chat("hello");
        body["user"] = "end-user-42";
        using var response = await PostAsync(body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(Upstream.Received);
        Assert.DoesNotContain("end-user-42", received.Body, StringComparison.Ordinal);
        Assert.Contains("\"model\":\"primary\"", received.Body, StringComparison.Ordinal);
        Assert.Equal("Bearer sk-test-gpt", received.Authorization);
    }
}

public class TimeoutTests : GatewayTest
{
    protected override Settings Configure(Settings settings) =>
        settings.Route("gpt", Deployment.OpenAi(Upstream.BaseUrl, "primary")
            .With("AttemptTimeout", "00:00:00.300")
            .With("MaxRetries", "1")
            .With("RetryBaseDelay", "00:00:00.010"));

    [Fact]
    public async Task AHangingUpstreamTimesOutPerAttemptAndGives504()
    {
        Upstream.Default = new Fault(FaultKind.Hang);
        using var response = await PostAsync(Chat("hello"));
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        var body = await ReadAsync(response);
        Assert.Equal("upstream_timeout", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(2, Upstream.Requests);
        await Upstream.WaitForAsync(u => u.Aborted == 2, TimeSpan.FromSeconds(5));
    }
}

public class CircuitBreakerTests : GatewayTest
{
    protected override Settings Configure(Settings settings) =>
        settings.Route("gpt", Deployment.OpenAi(Upstream.BaseUrl, "primary")
            .With("MaxRetries", "0")
            .With("BreakerMinimumThroughput", "2")
            .With("BreakerFailureRatio", "0.5")
            .With("BreakerSamplingDuration", "00:00:10")
            .With("BreakerBreakDuration", "00:00:01"));

    [Fact]
    public async Task BreakerOpensAfterRepeatedFailuresShowsInReadinessAndRecovers()
    {
        Upstream.Default = Fault.Error(500);
        for (var i = 0; i < 2; i++)
        {
            using var failed = await PostAsync(Chat("fail " + i));
            Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        }

        // Open: refused at once, without touching the upstream.
        using (var refused = await PostAsync(Chat("refused")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            var body = await ReadAsync(refused);
            Assert.Equal("urn:app:problem:overloaded", body.GetProperty("type").GetString());
        }

        Assert.Equal(2, Upstream.Requests);
        var ready = await ReadyAsync();
        Assert.Equal("Degraded", ready.GetProperty("status").GetString());
        Assert.Equal("Open", ready.GetProperty("checks").GetProperty("circuits").GetProperty("data").GetProperty("gpt/0").GetString());

        // After the break the half-open probe succeeds and the circuit closes.
        Upstream.Default = Fault.Ok();
        await Task.Delay(TimeSpan.FromMilliseconds(1200));
        using (var recovered = await PostAsync(Chat("recovered")))
        {
            Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
        }

        ready = await ReadyAsync();
        Assert.Equal("Closed", ready.GetProperty("checks").GetProperty("circuits").GetProperty("data").GetProperty("gpt/0").GetString());
    }
}

public class FallbackTests : TwoUpstreamTest
{
    protected override Settings Configure(Settings settings) =>
        settings.Route(
            "gpt",
            Deployment.OpenAi(Upstream.BaseUrl, "primary").With("MaxRetries", "1").With("RetryBaseDelay", "00:00:00.010"),
            Deployment.OpenAi(Secondary.BaseUrl, "secondary"));

    [Fact]
    public async Task FallsBackToTheSecondDeploymentWhenTheFirstKeepsFailing()
    {
        Upstream.Default = Fault.Error(503);
        using var response = await PostAsync(Chat("hello"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await ReadAsync(response);
        Assert.Equal("secondary", body.GetProperty("model").GetString());
        Assert.Equal(2, Upstream.Requests);
        Assert.Equal(1, Secondary.Requests);
    }

    [Fact]
    public async Task StreamsFallBackBeforeTheFirstTokenToo()
    {
        Upstream.Default = Fault.Error(500);
        using var response = await PostAsync(Chat("hello", stream: true), completion: HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stream = await ReadStreamAsync(response);
        Assert.True(stream.Done);
        Assert.Null(stream.Error);
        Assert.StartsWith("Echo: hello", stream.Text, StringComparison.Ordinal);
        Assert.Equal(1, Secondary.Requests);
    }
}

public class BackpressureTests : GatewayTest
{
    protected override Settings Configure(Settings settings) =>
        settings.Route("gpt", Deployment.OpenAi(Upstream.BaseUrl, "primary").With("MaxConcurrency", "1").With("QueueLimit", "1").With("QueueTimeout", "00:00:05"));

    [Fact]
    public async Task OverloadAnswers503WithRetryAfterInsteadOfPilingUp()
    {
        Upstream.Default = new Fault(FaultKind.Hang);
        using var cts = new CancellationTokenSource();
        var holding = PostAsync(Chat("slot holder"), cancellationToken: cts.Token);
        await Upstream.WaitForAsync(u => u.InFlight == 1, TimeSpan.FromSeconds(5));
        var queued = PostAsync(Chat("queued"), cancellationToken: cts.Token);
        await Task.Delay(200); // let it take the only queue place

        using var rejected = await PostAsync(Chat("one too many"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, rejected.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), rejected.Headers.RetryAfter?.Delta);
        var body = await ReadAsync(rejected);
        Assert.Equal("overloaded", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(1, Upstream.Requests);

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => holding);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);
    }

    [Fact]
    public async Task AQueuedRequestRunsWhenTheSlotFrees()
    {
        Upstream.Default = Fault.Ok(TimeSpan.FromMilliseconds(300));
        var first = PostAsync(Chat("first"));
        var second = PostAsync(Chat("second"));
        using var a = await first;
        using var b = await second;
        Assert.Equal(HttpStatusCode.OK, a.StatusCode);
        Assert.Equal(HttpStatusCode.OK, b.StatusCode);
        Assert.Equal(2, Upstream.Requests);
    }
}

public class LongRetryAfterTests : TwoUpstreamTest
{
    protected override Settings Configure(Settings settings) =>
        settings.Route(
            "gpt",
            Deployment.OpenAi(Upstream.BaseUrl, "primary").With("MaxRetryAfter", "00:00:02"),
            Deployment.OpenAi(Secondary.BaseUrl, "secondary"));

    [Fact]
    public async Task ARetryAfterLongerThanWeWaitGoesStraightToTheNextDeployment()
    {
        Upstream.Enqueue(Fault.Error(429, retryAfter: "120"));
        var started = DateTime.UtcNow;
        using var response = await PostAsync(Chat("hurry"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("secondary", (await ReadAsync(response)).GetProperty("model").GetString());
        Assert.Equal(1, Upstream.Requests);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(60), "did not wait for the 120 s Retry-After");
    }
}
