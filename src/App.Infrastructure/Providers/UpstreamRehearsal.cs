using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using App.Application.Routing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Providers;

/// <summary>
/// Runs the OpenAI-compatible provider client (<see cref="OpenAiCompatibleChatClient"/>) against answers made in
/// memory, whole and streamed, so the warm-up compiles the code that writes upstream requests and reads their answers
/// without calling any upstream: the warm-up's own calls go to a model served without one, and a configuration with
/// an OpenAI-compatible deployment would otherwise compile that code on its first real calls.
/// </summary>
public sealed class UpstreamRehearsal(IOptions<LlmOptions> options, TimeProvider time)
{
    private static readonly Uri BaseUrl = new("http://rehearsal.invalid/v1");

    /// <summary>Whether any model is served by an OpenAI-compatible deployment (otherwise there is nothing to rehearse).</summary>
    public bool Applies => options.Value.Models.Values.Any(m => m.Deployments.Any(d => d.Provider == ProviderKinds.OpenAi));

    /// <summary>
    /// Calls the client <paramref name="calls"/> times, whole answers and streams in turn (or fewer, if
    /// <paramref name="cancellationToken"/> ends it first), yielding between calls: nothing here waits on I/O, and the
    /// warm-up's requests need the same CPU.
    /// </summary>
    /// <returns>The calls made.</returns>
    public async Task<long> RunAsync(int calls, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new CannedUpstream()) { Timeout = Timeout.InfiniteTimeSpan };
        using var client = new OpenAiCompatibleChatClient(http, new DeploymentOptions { Provider = ProviderKinds.OpenAi, BaseUrl = BaseUrl, ApiKey = "rehearsal", Model = "rehearsal-1" }, time);
        var chatOptions = new ChatOptions { Temperature = 0.7f, MaxOutputTokens = 64 };
        long made = 0;
        try
        {
            for (; made < calls && !cancellationToken.IsCancellationRequested; made++)
            {
                await Task.Yield();
                List<ChatMessage> messages = [new(ChatRole.System, "rehearsal"), new(ChatRole.User, "rehearsal " + made.ToString(CultureInfo.InvariantCulture))];
                if (made % 2 == 0)
                {
                    await client.GetResponseAsync(messages, chatOptions, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                await foreach (var update in client.GetStreamingResponseAsync(messages, chatOptions, cancellationToken).ConfigureAwait(false))
                {
                    _ = update.Text;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        return made;
    }

    /// <summary>Answers every request as an OpenAI-compatible endpoint would: a completion, or a stream of chunks when asked.</summary>
    private sealed class CannedUpstream : HttpMessageHandler
    {
        private const string Completion = """{"id":"chatcmpl-rehearsal","object":"chat.completion","created":1767225600,"model":"rehearsal-1","choices":[{"index":0,"message":{"role":"assistant","content":"A rehearsed answer."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":4,"total_tokens":16}}""";

        private const string Stream = """
            data: {"id":"chatcmpl-rehearsal","object":"chat.completion.chunk","created":1767225600,"model":"rehearsal-1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

            data: {"id":"chatcmpl-rehearsal","object":"chat.completion.chunk","created":1767225600,"model":"rehearsal-1","choices":[{"index":0,"delta":{"content":"A rehearsed"},"finish_reason":null}]}

            data: {"id":"chatcmpl-rehearsal","object":"chat.completion.chunk","created":1767225600,"model":"rehearsal-1","choices":[{"index":0,"delta":{"content":" answer."},"finish_reason":"stop"}]}

            data: {"id":"chatcmpl-rehearsal","object":"chat.completion.chunk","created":1767225600,"model":"rehearsal-1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":4,"total_tokens":16}}

            data: [DONE]


            """;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            var streamed = body.Contains("\"stream\":true", StringComparison.Ordinal);
            var content = new StringContent(streamed ? Stream : Completion, Encoding.UTF8);
            content.Headers.ContentType = new MediaTypeHeaderValue(streamed ? "text/event-stream" : "application/json");
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = content, RequestMessage = request };
        }
    }
}
