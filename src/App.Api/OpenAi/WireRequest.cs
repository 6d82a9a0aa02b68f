using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using App.Api.Problems;

namespace App.Api.OpenAi;

/// <summary>Reads the JSON body of a <c>/v1</c> request, or the problem to answer instead (415, or 400 naming the member at fault).</summary>
internal static class WireRequest
{
    public static async Task<(T? Request, IResult? Error)> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type)
        where T : class
    {
        if (!context.Request.HasJsonContentType())
        {
            return (null, OpenAiErrors.UnsupportedMediaType());
        }

        try
        {
            var request = await JsonSerializer.DeserializeAsync(context.Request.Body, type, context.RequestAborted);
            return request is null
                ? (null, ApiProblems.Problem(400, "invalid-request", "The request is invalid.", "The request body must be a JSON object.", "invalid_request_error", null, "invalid_json"))
                : (request, null);
        }
        catch (JsonException ex)
        {
            return (null, OpenAiErrors.InvalidJson(ex));
        }
    }
}
