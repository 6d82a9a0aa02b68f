using System.Net;
using System.Text;
using App.Testing;

namespace App.IntegrationTests;

/// <summary>What only a real server shows: request size limits and streaming over a socket.</summary>
public sealed class KestrelTests : IAsyncLifetime
{
    private GatewayFactory _factory = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        var redis = await SharedServers.RedisAsync();
        _factory = new GatewayFactory(redis.ConnectionString, await Databases.SharedAsync(), new Settings().With("Kestrel:Limits:MaxRequestBodySize", "65536"), kestrel: true);
        _factory.StartServer();
        _client = _factory.CreateClientFor("kestrel");
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _factory.DisposeAsync();
    }

    [Fact]
    public async Task ABodyOverTheLimitIs413AndNothingRuns()
    {
        Assert.Equal("127.0.0.1", _client.BaseAddress!.Host);
        var body = $$"""{"model":"offline","messages":[{"role":"user","content":"{{new string('a', 70_000)}}"}]}""";
        using var response = await _client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var json = await response.Content.ReadAsStringAsync();
        await Contracts.AssertValidAsync(Contracts.Error, json, "error");
        Assert.Contains("request_too_large", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAnswerLeavesWithItsLengthNotChunked()
    {
        using var response = await _client.PostAsync("/v1/chat/completions", new StringContent("""{"model":"offline","messages":[{"role":"user","content":"length"}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.NotEqual(true, response.Headers.TransferEncodingChunked);
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        await Contracts.AssertValidAsync(Contracts.Response, Encoding.UTF8.GetString(body), "completion");
    }

    [Fact]
    public async Task StreamsOverARealSocket()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"offline","messages":[{"role":"user","content":"socket"}],"stream":true}""", Encoding.UTF8, "application/json"),
        };
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = await Sse.ReadAllAsync(response);
        Assert.Equal("[DONE]", events[^1].Data);
        Assert.True(events.Count > 5);
    }
}
