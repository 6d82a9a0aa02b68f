using System.Net;
using System.Text;
using App.Testing;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Serilog.Events;

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

    // The request log must say what the client got: the exception handler turns a body over the limit into a 413,
    // and a request log inside it saw the exception pass and logged a 500 at Error level.
    [Fact]
    public async Task TheRequestLogRecordsTheStatusTheClientReceived()
    {
        var sink = new CapturingSink();
        var redis = await SharedServers.RedisAsync();
        await using var factory = new GatewayFactory(redis.ConnectionString, await Databases.SharedAsync(), new Settings()
            .With("Kestrel:Limits:MaxRequestBodySize", "65536")
            .With("Serilog:MinimumLevel:Default", "Information"), kestrel: true)
        {
            ExtraServices = services => services.AddSingleton<ILogEventSink>(sink),
        };
        factory.StartServer();
        using var client = factory.CreateClientFor("kestrel-log");
        var body = $$"""{"model":"offline","messages":[{"role":"user","content":"{{new string('a', 70_000)}}"}]}""";
        using var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);

        var deadline = DateTime.UtcNow.AddSeconds(5);
        LogEvent[] logged;
        while ((logged = sink.RequestLogs("/v1/chat/completions")).Length == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var entry = Assert.Single(logged);
        Assert.Equal("413", entry.Properties["StatusCode"].ToString());
        Assert.Equal(LogEventLevel.Information, entry.Level);
    }

    private sealed class CapturingSink : ILogEventSink
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<LogEvent> _events = new();

        public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

        public LogEvent[] RequestLogs(string path) =>
            [.. _events.Where(e => e.Properties.TryGetValue("RequestPath", out var p) && p.ToString() == $"\"{path}\"" && e.Properties.ContainsKey("StatusCode"))];
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
