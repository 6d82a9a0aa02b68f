using System.Text.Json;
using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

/// <summary>
/// The serializer for the wire format. Output escapes only what JSON requires (not HTML characters): it is
/// served as application/json or text/event-stream with nosniff, never embedded in a page.
/// </summary>
public static class OpenAiJson
{
    public static readonly OpenAiJsonContext Wire = new(Options());

    /// <summary>
    /// The wire options, for this context and others of the same format (jobs). Options given to a context replace
    /// its attribute's options, so they are all restated here.
    /// </summary>
    public static JsonSerializerOptions Options() => new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowOutOfOrderMetadataProperties = true,
        AllowDuplicateProperties = false,
    };
}
