using System.Net.Http.Headers;
using System.Text.Json;
using App.Application.Embeddings;
using App.Application.Gateway;
using App.Application.Routing;

namespace App.Infrastructure.Providers;

/// <summary>
/// Any OpenAI-compatible <c>/embeddings</c> endpoint. Texts and token arrays are forwarded as given, vectors are
/// always asked for as floats (the gateway encodes them for its client), <c>user</c> is never forwarded, and every way
/// the upstream can fail becomes an <see cref="UpstreamException"/> of the right kind.
/// </summary>
public sealed class OpenAiCompatibleEmbeddings
{
    private readonly HttpClient _http;
    private readonly DeploymentOptions _deployment;
    private readonly Uri _endpoint;
    private readonly TimeProvider _time;

    public OpenAiCompatibleEmbeddings(HttpClient http, DeploymentOptions deployment, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        _http = http;
        _deployment = deployment;
        _time = time;
        var baseUrl = deployment.BaseUrl ?? throw new ArgumentException("BaseUrl is required.", nameof(deployment));
        _endpoint = new Uri(baseUrl.AbsoluteUri.TrimEnd('/') + "/embeddings");
    }

    public async Task<EmbeddingBatch> EmbedAsync(IReadOnlyList<EmbeddingItem> items, int? dimensions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = Body(items, dimensions) };
        UpstreamHttp.Authorize(request, _deployment);
        var response = await UpstreamHttp.SendAsync(_http, request, HttpCompletionOption.ResponseContentRead, _time, cancellationToken).ConfigureAwait(false);
        using (response)
        {
            Application.OpenAi.EmbeddingList? list;
            try
            {
                await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                list = await JsonSerializer.DeserializeAsync(body, UpstreamWire.Embeddings, cancellationToken).ConfigureAwait(false);
            }
            catch (JsonException ex)
            {
                throw new UpstreamException(UpstreamFailureKind.Malformed, "The upstream answered with malformed JSON.", (int)response.StatusCode, inner: ex);
            }

            if (list?.Data is not { } data || data.Count != items.Count || data.Any(d => d?.Embedding is null || d.Index < 0 || d.Index >= items.Count))
            {
                throw new UpstreamException(UpstreamFailureKind.Malformed, "The upstream answer does not hold one embedding per input.", (int)response.StatusCode);
            }

            // The data is indexed: an upstream may list it in any order.
            var vectors = new float[items.Count][];
            foreach (var d in data)
            {
                vectors[d.Index] = d.Embedding.Values;
            }

            return new EmbeddingBatch(vectors, list.Usage?.PromptTokens, list.Model);
        }
    }

    private ByteArrayContent Body(IReadOnlyList<EmbeddingItem> items, int? dimensions)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("model", _deployment.Model);
            w.WriteStartArray("input");
            foreach (var item in items)
            {
                if (item.Tokens is { } tokens)
                {
                    w.WriteStartArray();
                    foreach (var t in tokens)
                    {
                        w.WriteNumberValue(t);
                    }

                    w.WriteEndArray();
                }
                else
                {
                    w.WriteStringValue(item.Text);
                }
            }

            w.WriteEndArray();
            w.WriteString("encoding_format", "float");
            if (dimensions is { } d)
            {
                w.WriteNumber("dimensions", d);
            }

            w.WriteEndObject();
        }

        var content = new ByteArrayContent(buffer.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }
}
