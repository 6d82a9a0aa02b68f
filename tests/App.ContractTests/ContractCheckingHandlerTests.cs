using System.Net;
using System.Text;
using App.Testing;
using Xunit.Sdk;

namespace App.ContractTests;

/// <summary>
/// The check every integration test's client runs on what it receives (<see cref="ContractCheckingHandler"/>) does
/// refuse what breaks the contracts: here it is fed answers that do, by a stub in place of the service.
/// </summary>
public sealed class ContractCheckingHandlerTests
{
    private const string Chunk = """{"id":"chatcmpl-0123456789abcdef0123456789abcdef","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}""";

    private static HttpClient ClientAnswering(HttpStatusCode status, string mediaType, string body) =>
        new(new ContractCheckingHandler { InnerHandler = new Stub(status, mediaType, body) }) { BaseAddress = new Uri("http://gateway.test") };

    private static Task<HttpResponseMessage> ChatAsync(HttpClient client) =>
        client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent("{}") }, HttpCompletionOption.ResponseHeadersRead);

    [Fact]
    public async Task ACompletionMissingItsChoicesIsRefused()
    {
        using var client = ClientAnswering(HttpStatusCode.OK, "application/json", """{"id":"x","object":"chat.completion","created":1,"model":"m"}""");
        var ex = await Assert.ThrowsAsync<XunitException>(() => ChatAsync(client));
        Assert.Contains("POST /v1/chat/completions (200)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnErrorThatIsNotProblemJsonOrNotOpenAiShapedIsRefused()
    {
        using var plain = ClientAnswering(HttpStatusCode.BadRequest, "application/json", """{"message":"bad"}""");
        await Assert.ThrowsAsync<XunitException>(() => ChatAsync(plain));
        using var unshaped = ClientAnswering(HttpStatusCode.BadRequest, "application/problem+json", """{"title":"bad","status":400}""");
        await Assert.ThrowsAsync<XunitException>(() => ChatAsync(unshaped));
    }

    [Fact]
    public async Task AStreamIsCheckedEventByEventAsItIsRead()
    {
        // A good chunk, [DONE], and then one more event: the read that reaches it fails.
        using var late = ClientAnswering(HttpStatusCode.OK, "text/event-stream", $"data: {Chunk}\n\ndata: [DONE]\n\ndata: {Chunk}\n\n");
        using var response = await ChatAsync(late);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var ex = await Assert.ThrowsAsync<XunitException>(() => response.Content.ReadAsStringAsync());
        Assert.Contains("follows [DONE]", ex.Message, StringComparison.Ordinal);

        using var broken = ClientAnswering(HttpStatusCode.OK, "text/event-stream", "data: {\"object\":\"chat.completion.chunk\"}\n\n");
        using var brokenResponse = await ChatAsync(broken);
        await Assert.ThrowsAsync<XunitException>(() => brokenResponse.Content.ReadAsStringAsync());

        // A conforming stream passes through byte for byte.
        var good = $"data: {Chunk}\n\ndata: [DONE]\n\n";
        using var fine = ClientAnswering(HttpStatusCode.OK, "text/event-stream", good);
        using var fineResponse = await ChatAsync(fine);
        Assert.Equal(good, await fineResponse.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task OutsideV1NothingIsChecked()
    {
        using var client = ClientAnswering(HttpStatusCode.BadRequest, "text/plain", "not json");
        using var response = await client.GetAsync("/health/ready");
        Assert.Equal("not json", await response.Content.ReadAsStringAsync());
    }

    private sealed class Stub(HttpStatusCode status, string mediaType, string body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, mediaType), RequestMessage = request });
    }
}
