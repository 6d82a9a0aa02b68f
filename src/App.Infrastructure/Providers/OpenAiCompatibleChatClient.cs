using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using App.Application.Gateway;
using App.Application.OpenAi;
using App.Application.Privacy;
using App.Application.Routing;
using Microsoft.Extensions.AI;

namespace App.Infrastructure.Providers;

/// <summary>
/// An <see cref="IChatClient"/> for any OpenAI-compatible <c>/chat/completions</c> endpoint (OpenAI, Azure OpenAI
/// v1, vLLM, Ollama, llama.cpp server). It speaks the wire format directly with the same source-generated types
/// the gateway serves, has no retry of its own (the resilience pipeline owns that), and turns every way an
/// upstream can fail into an <see cref="UpstreamException"/> of the right kind, including streams that are cut
/// before <c>[DONE]</c>.
/// </summary>
public sealed class OpenAiCompatibleChatClient : IChatClient
{
    private readonly HttpClient _http;
    private readonly DeploymentOptions _deployment;
    private readonly Uri _endpoint;
    private readonly TimeProvider _time;

    public OpenAiCompatibleChatClient(HttpClient http, DeploymentOptions deployment, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        _http = http;
        _deployment = deployment;
        _time = time;
        var baseUrl = deployment.BaseUrl ?? throw new ArgumentException("BaseUrl is required.", nameof(deployment));
        _endpoint = new Uri(baseUrl.AbsoluteUri.TrimEnd('/') + "/chat/completions");
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        using var request = BuildRequest(messages, options, stream: false);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        ChatCompletion? completion;
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            completion = await JsonSerializer.DeserializeAsync(body, UpstreamWire.Completion, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            throw new UpstreamException(UpstreamFailureKind.Malformed, "The upstream answered with malformed JSON.", (int)response.StatusCode, inner: ex);
        }

        if (completion?.Choices is not { Count: > 0 } choices || choices[0]?.Message is not { } message)
        {
            throw new UpstreamException(UpstreamFailureKind.Malformed, "The upstream answer has no choices.", (int)response.StatusCode);
        }

        return new ChatResponse(new ChatMessage(ChatRole.Assistant, message.Content ?? string.Empty))
        {
            ResponseId = completion.Id,
            ModelId = completion.Model ?? _deployment.Model,
            CreatedAt = completion.Created > 0 ? DateTimeOffset.FromUnixTimeSeconds(completion.Created) : _time.GetUtcNow(),
            FinishReason = choices[0].FinishReason is { } f ? new ChatFinishReason(f) : null,
            Usage = ToUsage(completion.Usage),
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var request = BuildRequest(messages, options, stream: true);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(body, Encoding.UTF8);
        string? eventType = null;
        var done = false;
        while (!done)
        {
            string? line;
            try
            {
                line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException)
            {
                throw new UpstreamException(UpstreamFailureKind.StreamBroken, "The upstream stream was interrupted.", inner: ex);
            }

            if (line is null)
            {
                throw new UpstreamException(UpstreamFailureKind.StreamBroken, "The upstream stream ended before [DONE].");
            }

            if (line.Length == 0)
            {
                eventType = null;
                continue;
            }

            if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                eventType = line[6..].Trim();
                continue;
            }

            if (!line.StartsWith("data:", StringComparison.Ordinal))
            {
                continue; // comments (": keep-alive") and fields we do not use
            }

            var data = line.AsMemory(5).Trim();
            if (data.Span.SequenceEqual("[DONE]"))
            {
                done = true;
                continue;
            }

            if (ParseChunk(data, eventType) is { } update)
            {
                yield return update;
            }
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType?.IsInstanceOfType(this) == true ? this : null;

    public void Dispose()
    {
    }

    private ChatResponseUpdate? ParseChunk(ReadOnlyMemory<char> data, string? eventType)
    {
        ChatCompletionChunk? chunk;
        try
        {
            chunk = eventType == "error" ? null : JsonSerializer.Deserialize(data.Span, UpstreamWire.Chunk);
        }
        catch (JsonException ex)
        {
            throw new UpstreamException(UpstreamFailureKind.Malformed, "The upstream sent a malformed stream chunk.", inner: ex);
        }

        if (chunk?.Choices is null && chunk?.Usage is null)
        {
            var message = UpstreamWire.TryReadError(data.Span) is { } error ? Redactor.Redact(error).Text : "The upstream sent an error event.";
            throw new UpstreamException(UpstreamFailureKind.StreamBroken, message);
        }

        var choice = chunk.Choices is { Count: > 0 } choices ? choices[0] : null;
        var text = choice?.Delta?.Content;
        var finish = choice?.FinishReason;
        var usage = ToUsage(chunk.Usage);
        if (string.IsNullOrEmpty(text) && finish is null && usage is null)
        {
            return null; // the role-only opening chunk carries nothing to forward
        }

        var update = new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            ResponseId = chunk.Id,
            ModelId = chunk.Model ?? _deployment.Model,
            CreatedAt = chunk.Created > 0 ? DateTimeOffset.FromUnixTimeSeconds(chunk.Created) : null,
            FinishReason = finish is null ? null : new ChatFinishReason(finish),
        };
        if (!string.IsNullOrEmpty(text))
        {
            update.Contents.Add(new TextContent(text));
        }

        if (usage is not null)
        {
            update.Contents.Add(new UsageContent(usage));
        }

        return update;
    }

    private HttpRequestMessage BuildRequest(IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream)
    {
        var wire = new ChatCompletionRequest
        {
            Model = _deployment.Model,
            Messages = [.. messages.Select(m => new WireMessage { Role = RoleOf(m.Role), Content = m.Text, Name = m.AuthorName })],
            Temperature = options?.Temperature,
            TopP = options?.TopP,
            PresencePenalty = options?.PresencePenalty,
            FrequencyPenalty = options?.FrequencyPenalty,
            MaxCompletionTokens = options?.MaxOutputTokens,
            Seed = options?.Seed,
            Stop = options?.StopSequences is { Count: > 0 } stop ? [.. stop] : null,
            ResponseFormat = options?.ResponseFormat switch
            {
                ChatResponseFormatJson { Schema: { } schema } json => new WireResponseFormat
                {
                    Type = "json_schema",
                    JsonSchema = new WireJsonSchema
                    {
                        Name = json.SchemaName ?? "response",
                        Description = json.SchemaDescription,
                        Schema = schema,
                        Strict = options.AdditionalProperties?.TryGetValue("strict", out var strict) == true && strict is bool b ? b : null,
                    },
                },
                ChatResponseFormatJson => new WireResponseFormat { Type = "json_object" },
                _ => null,
            },
            Stream = stream ? true : null,
            // Always ask for usage: token accounting must not depend on what the client asked for.
            StreamOptions = stream ? new WireStreamOptions { IncludeUsage = true } : null,
        };

        var request = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(wire, OpenAiJson.Wire.ChatCompletionRequest)),
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrHigher,
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (stream)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        }

        UpstreamHttp.Authorize(request, _deployment);
        return request;
    }

    private Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken) =>
        UpstreamHttp.SendAsync(_http, request, completion, _time, cancellationToken);

    private static UsageDetails? ToUsage(WireUsage? usage) => usage is null
        ? null
        : new UsageDetails { InputTokenCount = usage.PromptTokens, OutputTokenCount = usage.CompletionTokens, TotalTokenCount = usage.TotalTokens };

    private static string RoleOf(ChatRole role) =>
        role == ChatRole.System ? "system" : role == ChatRole.Assistant ? "assistant" : "user";
}
