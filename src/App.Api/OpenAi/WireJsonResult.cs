using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace App.Api.OpenAi;

/// <summary>
/// A JSON answer sent whole, with its <c>Content-Length</c>, in one write. <c>TypedResults.Json</c> serializes
/// into the response as it goes: the answer leaves chunked, the headers and body in one send and the closing
/// chunk in another when the request ends. A chat completion is small and already in memory, so it is serialized
/// first and written once.
/// </summary>
internal sealed class WireJsonResult<T>(T value, JsonTypeInfo<T> typeInfo) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var body = JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = body.Length;
        // No cancellation token: written to a client that has gone, the bytes are dropped, as TypedResults.Json did
        // (it swallowed the cancellation), instead of surfacing a cancellation as an unhandled error.
        return response.BodyWriter.WriteAsync(body).AsTask();
    }
}
