using System.Text.Json.Nodes;
using App.Testing.Fuzz;

namespace App.IntegrationTests.Fuzz;

/// <summary>
/// A plausible value for a schema of the document, the starting point the fuzzer bends: a request close to a valid
/// one reaches further into the code than noise does.
/// </summary>
public static class SchemaSamples
{
    private const int MaxDepth = 6;

    public static JsonNode? For(ApiDocument document, JsonNode? schema, string? name = null, int depth = 0)
    {
        ArgumentNullException.ThrowIfNull(document);
        schema = document.Resolve(schema);
        if (schema is not JsonObject s || depth > MaxDepth)
        {
            return JsonValue.Create("hello");
        }

        if (s["enum"] is JsonArray values && values.Count > 0)
        {
            return values.FirstOrDefault(v => v is not null)?.DeepClone();
        }

        foreach (var combinator in new[] { "oneOf", "anyOf", "allOf" })
        {
            if (s[combinator] is JsonArray choices && choices.FirstOrDefault(c => TypeOf(document.Resolve(c)) != "null") is { } choice)
            {
                return For(document, choice, name, depth + 1);
            }
        }

        return TypeOf(s) switch
        {
            "object" => Object(document, s, depth),
            "array" => new JsonArray(For(document, s["items"], name, depth + 1)),
            "integer" => JsonValue.Create(1),
            "number" => JsonValue.Create(0.5),
            "boolean" => JsonValue.Create(true),
            _ => JsonValue.Create(String(s, name)),
        };
    }

    /// <summary>The schema's type, the first one that is not null when it lists several.</summary>
    public static string? TypeOf(JsonNode? schema) => schema?["type"] switch
    {
        JsonValue v => (string?)v,
        JsonArray a => a.Select(t => (string?)t).FirstOrDefault(t => t != "null") ?? "null",
        _ => schema?["properties"] is not null ? "object" : null,
    };

    private static JsonObject Object(ApiDocument document, JsonObject schema, int depth)
    {
        var result = new JsonObject();
        foreach (var (member, memberSchema) in schema["properties"]?.AsObject() ?? [])
        {
            result[member] = For(document, memberSchema, member, depth + 1);
        }

        return result;
    }

    private static string String(JsonObject schema, string? name) => ((string?)schema["format"], name) switch
    {
        ("uuid", _) => "3f2a1c9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
        ("date-time", _) => "2026-01-01T00:00:00Z",
        ("date", _) => "2026-01-01",
        ("uri", _) => "https://example.com/",
        (_, "model") => "gpt",
        (_, "role") => "user",
        _ => "hello",
    };
}
