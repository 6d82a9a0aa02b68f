using System.Text;
using NJsonSchema;

namespace App.Testing;

/// <summary>
/// Holds every answer of the <c>/v1</c> surface to the wire contracts as the test client receives it, whether or not
/// the test reads it: a chat completion or the model list against their schemas, every chunk and error event of a
/// chat stream as it is read (nothing after <c>[DONE]</c>), and every <c>/v1</c> error body against the OpenAI-shaped
/// error schema. A violation fails the test at the call (or at the read, for a stream).
/// </summary>
public sealed class ContractCheckingHandler : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = await base.SendAsync(request, cancellationToken);
        var path = request.RequestUri?.AbsolutePath ?? string.Empty;
        if (!path.StartsWith("/v1/", StringComparison.Ordinal))
        {
            return response;
        }

        var what = $"{request.Method} {path} ({(int)response.StatusCode})";
        var chat = request.Method == HttpMethod.Post && path == "/v1/chat/completions";
        if (chat && response.IsSuccessStatusCode && response.Content.Headers.ContentType?.MediaType == "text/event-stream")
        {
            var checkedStream = new SseContractStream(await response.Content.ReadAsStreamAsync(cancellationToken), await Contracts.Chunk, await Contracts.StreamError, what);
            response.Content = Replace(response.Content, checkedStream);
            return response;
        }

        var schema = !response.IsSuccessStatusCode ? Contracts.Error
            : chat ? Contracts.Response
            : request.Method == HttpMethod.Get && path == "/v1/models" ? Contracts.Models
            : null;
        if (schema is null)
        {
            return response;
        }

        await response.Content.LoadIntoBufferAsync(cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            if (body.Length == 0)
            {
                // A bare challenge (401 with WWW-Authenticate) carries no body to hold to a schema.
                return response;
            }

            if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            {
                throw new Xunit.Sdk.XunitException($"{what}: an error is application/problem+json, not {response.Content.Headers.ContentType}\n{body}");
            }
        }

        await Contracts.AssertValidAsync(schema, body, what);
        return response;
    }

    private static StreamContent Replace(HttpContent original, Stream body)
    {
        var content = new StreamContent(body);
        foreach (var (name, values) in original.Headers)
        {
            content.Headers.TryAddWithoutValidation(name, values);
        }

        return content;
    }

    /// <summary>Passes a chat stream through unchanged, checking each event as its last byte goes by.</summary>
    private sealed class SseContractStream(Stream inner, JsonSchema chunk, JsonSchema error, string what) : Stream
    {
        private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
        private readonly StringBuilder _line = new();
        private readonly List<string> _data = [];
        private string? _event;
        private bool _done;
        private int _events;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Check(buffer.AsSpan(offset, inner.Read(buffer, offset, count)));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            return Check(buffer.Span[..read]);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private int Check(ReadOnlySpan<byte> read)
        {
            if (read.Length == 0)
            {
                // The end: an event not closed by a blank line still counts as one, as a client library reads it.
                EndOfEvent();
                return 0;
            }

            Span<char> chars = stackalloc char[Encoding.UTF8.GetMaxCharCount(read.Length)];
            var count = _decoder.GetChars(read, chars, flush: false);
            foreach (var c in chars[..count])
            {
                if (c != '\n')
                {
                    _line.Append(c);
                    continue;
                }

                var line = _line.ToString().TrimEnd('\r');
                _line.Clear();
                if (line.Length == 0)
                {
                    EndOfEvent();
                }
                else if (line.StartsWith("event:", StringComparison.Ordinal))
                {
                    _event = line[6..].Trim();
                }
                else if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    _data.Add(line[5..].TrimStart());
                }
            }

            return read.Length;
        }

        private void EndOfEvent()
        {
            if (_data.Count == 0)
            {
                _event = null;
                return;
            }

            var data = string.Join('\n', _data);
            var kind = _event;
            _data.Clear();
            _event = null;
            _events++;
            if (_done)
            {
                throw new Xunit.Sdk.XunitException($"{what}: event {_events} follows [DONE]");
            }

            if (kind == "error")
            {
                Validate(error, data, "stream error event");
            }
            else if (data == "[DONE]")
            {
                _done = true;
            }
            else
            {
                Validate(chunk, data, "chunk");
            }
        }

        private void Validate(JsonSchema schema, string json, string kind)
        {
            var errors = schema.Validate(json);
            if (errors.Count > 0)
            {
                throw new Xunit.Sdk.XunitException($"{what}: {kind} {_events} does not match its contract:\n  {string.Join("\n  ", errors.Select(e => $"{e.Path}: {e.Kind}"))}\n{json}");
            }
        }
    }
}
