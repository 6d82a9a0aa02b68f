using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace App.Api.OpenAi;

/// <summary>
/// A JSON answer sent whole, with its <c>Content-Length</c>, in one write. <c>TypedResults.Json</c> serializes
/// into the response as it goes: the answer leaves chunked, the headers and body in one send and the closing
/// chunk in another when the request ends. A chat completion is small and already in memory, so it is serialized
/// first (into a buffer the thread keeps, not a new array per answer) and written once.
/// </summary>
internal sealed class WireJsonResult<T>(T value, JsonTypeInfo<T> typeInfo) : IResult
{
    // Answers larger than this are serialized into a buffer of their own, which is then let go.
    private const int KeptBufferBytes = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _threadBuffer;

    [ThreadStatic]
    private static Utf8JsonWriter? _threadWriter;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var options = typeInfo.Options;
        var buffer = _threadBuffer ?? new ArrayBufferWriter<byte>(4096);
        var writer = _threadWriter;
        // Taken: anything that re-entered on this thread would make buffers of its own.
        _threadBuffer = null;
        _threadWriter = null;
        if (writer is null || writer.Options.Encoder != options.Encoder || writer.Options.Indented != options.WriteIndented || writer.Options.MaxDepth != options.MaxDepth)
        {
            writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = options.Encoder, Indented = options.WriteIndented, MaxDepth = options.MaxDepth });
        }
        else
        {
            writer.Reset(buffer);
        }

        try
        {
            JsonSerializer.Serialize(writer, value, typeInfo);
            writer.Flush();
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/json; charset=utf-8";
            response.ContentLength = buffer.WrittenCount;
            // Copied into the response's pipe here, so the buffer can serve the next answer at once.
            response.BodyWriter.Write(buffer.WrittenSpan);
        }
        finally
        {
            if (buffer.Capacity <= KeptBufferBytes)
            {
                buffer.ResetWrittenCount();
                _threadBuffer = buffer;
                _threadWriter = writer;
            }
        }

        // No cancellation token: written to a client that has gone, the bytes are dropped, as TypedResults.Json did
        // (it swallowed the cancellation), instead of surfacing a cancellation as an unhandled error.
        return httpContext.Response.BodyWriter.FlushAsync().AsTask();
    }
}
