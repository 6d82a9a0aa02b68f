using System.Net;
using App.FakeUpstream;
using App.Testing;

namespace App.IntegrationTests;

public class StreamingTests : GatewayTest
{
    [Fact]
    public async Task StreamsChunksThenUsageThenDone()
    {
        using var response = await PostAsync(Chat("stream this please", stream: true, includeUsage: true), completion: HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        var stream = await ReadStreamAsync(response);
        Assert.True(stream.Done);
        Assert.Equal("stop", stream.FinishReason);
        Assert.Equal("Echo: stream this please word4 word5 word6 word7", stream.Text);
        Assert.Equal(8, stream.Usage!.Value.GetProperty("completion_tokens").GetInt32());
        // role chunk, 8 content chunks, finish chunk, usage chunk, [DONE]
        Assert.Equal(12, stream.Events.Count);
    }

    [Fact]
    public async Task WithoutIncludeUsageThereIsNoUsageChunk()
    {
        using var response = await PostAsync(Chat("no usage", stream: true), completion: HttpCompletionOption.ResponseHeadersRead);
        var stream = await ReadStreamAsync(response);
        Assert.True(stream.Done);
        Assert.Null(stream.Usage);
    }

    [Theory]
    [InlineData(FaultKind.CutStream)]
    [InlineData(FaultKind.EndWithoutDone)]
    public async Task AStreamCutMidwayEndsWithAnErrorEventAndNoDone(FaultKind cut)
    {
        Upstream.Enqueue(new Fault(cut, Chunks: 3));
        using var response = await PostAsync(Chat("cut me off", stream: true), completion: HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stream = await ReadStreamAsync(response);
        Assert.False(stream.Done);
        Assert.NotNull(stream.Error);
        Assert.Equal("stream_interrupted", stream.Error!.Value.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("Echo: cut me", stream.Text); // what arrived before the cut was forwarded, nothing more
        Assert.Equal(1, Upstream.Requests); // nothing is retried once tokens reached the client
    }

    [Fact]
    public async Task AFailureBeforeTheFirstTokenIsRetriedInvisibly()
    {
        Upstream.Enqueue(Fault.Error(500), new Fault(FaultKind.Malformed));
        using var response = await PostAsync(Chat("retry me", stream: true), completion: HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stream = await ReadStreamAsync(response);
        Assert.True(stream.Done);
        Assert.Null(stream.Error);
        Assert.Equal(3, Upstream.Requests);
    }

    [Fact]
    public async Task FailingBeforeTheFirstTokenIsAnOrdinaryHttpError()
    {
        Upstream.Default = Fault.Error(500);
        using var response = await PostAsync(Chat("never", stream: true), completion: HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        await ReadAsync(response);
    }

    [Fact]
    public async Task ClientDisconnectDuringAStreamCancelsTheUpstreamCall()
    {
        Upstream.Behaviour.StreamChunks = 200;
        Upstream.Behaviour.ChunkInterval = TimeSpan.FromMilliseconds(50);
        var response = await PostAsync(Chat("long stream", stream: true), completion: HttpCompletionOption.ResponseHeadersRead);
        var read = 0;
        await foreach (var _ in App.Testing.Sse.ReadAsync(response))
        {
            if (++read == 3)
            {
                break;
            }
        }

        response.Dispose();
        await Upstream.WaitForAsync(u => u.Aborted == 1, TimeSpan.FromSeconds(10));
        Assert.Equal(0, Upstream.InFlight);
    }

    [Fact]
    public async Task ClientDisconnectBeforeTheAnswerCancelsTheUpstreamCall()
    {
        Upstream.Default = new Fault(FaultKind.Hang);
        using var cts = new CancellationTokenSource();
        var pending = PostAsync(Chat("hang"), cancellationToken: cts.Token);
        await Upstream.WaitForAsync(u => u.InFlight == 1, TimeSpan.FromSeconds(5));
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        await Upstream.WaitForAsync(u => u.Aborted == 1, TimeSpan.FromSeconds(10));
    }
}

public class StreamIdleTimeoutTests : GatewayTest
{
    protected override Settings Configure(Settings settings) =>
        settings.Route("gpt", Deployment.OpenAi(Upstream.BaseUrl, "primary").With("StreamIdleTimeout", "00:00:00.300"));

    [Fact]
    public async Task AStalledStreamIsCutWithAnErrorEventAndTheUpstreamCallEnds()
    {
        Upstream.Behaviour.ChunkInterval = TimeSpan.FromSeconds(2);
        using var response = await PostAsync(Chat("slow drip", stream: true), completion: HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stream = await ReadStreamAsync(response);
        Assert.False(stream.Done);
        Assert.NotNull(stream.Error);
        Assert.Equal("Echo:", stream.Text);
        await Upstream.WaitForAsync(u => u.Aborted == 1, TimeSpan.FromSeconds(5));
    }
}
