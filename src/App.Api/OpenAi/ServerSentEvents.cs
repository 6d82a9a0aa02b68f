using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace App.Api.OpenAi;

/// <summary>Writes <c>data: {json}\n\n</c> events straight into the response pipe; the async writes flush.</summary>
internal sealed class ServerSentEvents(PipeWriter pipe) : IDisposable
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();
    private static readonly byte[] ErrorEventPrefix = "event: error\ndata: "u8.ToArray();

    private readonly Utf8JsonWriter _json = new(pipe, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true });

    public static void Prepare(HttpResponse response)
    {
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        // Reverse proxies (nginx) must not hold chunks back.
        response.Headers["X-Accel-Buffering"] = "no";
    }

    public ValueTask<FlushResult> DataAsync<T>(T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        Write(DataPrefix, value, typeInfo);
        return pipe.FlushAsync(cancellationToken);
    }

    /// <summary>Writes an event without sending it yet: it leaves with the next flushed one (one write, not two).</summary>
    public void Data<T>(T value, JsonTypeInfo<T> typeInfo) => Write(DataPrefix, value, typeInfo);

    public ValueTask<FlushResult> ErrorAsync<T>(T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        Write(ErrorEventPrefix, value, typeInfo);
        return pipe.FlushAsync(cancellationToken);
    }

    public ValueTask<FlushResult> DoneAsync(CancellationToken cancellationToken)
    {
        pipe.Write(Done);
        return pipe.FlushAsync(cancellationToken);
    }

    private void Write<T>(byte[] prefix, T value, JsonTypeInfo<T> typeInfo)
    {
        pipe.Write(prefix);
        _json.Reset(pipe);
        JsonSerializer.Serialize(_json, value, typeInfo);
        _json.Flush();
        pipe.Write(EventEnd);
    }

    public void Dispose() => _json.Dispose();
}
