using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace App.Infrastructure.Providers;

/// <summary>
/// What the offline model writes, drawn from a seeded generator: prose from a fixed vocabulary, a small JSON object,
/// or an instance of a JSON schema, so the same seed always gives the same text.
/// </summary>
internal static class OfflineComposer
{
    private static readonly string[] Vocabulary =
    [
        "the", "model", "answer", "request", "gateway", "cache", "token", "stream", "service", "tenant", "latency",
        "budget", "route", "provider", "fallback", "circuit", "breaker", "queue", "trace", "policy", "secure",
        "quick", "stable", "careful", "simple", "clear", "small", "fast", "robust", "honest", "measured", "a", "an",
        "is", "was", "will", "can", "should", "keeps", "sends", "reads", "writes", "checks", "returns", "holds",
        "and", "or", "but", "so", "with", "without", "for", "from", "to", "of", "in", "on", "under", "over",
        "every", "each", "one", "two", "three", "many", "few", "some", "all", "data", "record", "result", "error",
        "retry", "limit", "window", "value", "field", "schema", "contract", "test", "bench", "report", "note",
    ];

    public static string Prose(IReadOnlyList<ChatMessage> messages, ref SplitMix64 rng)
    {
        var sb = new StringBuilder();
        var lastUser = messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? string.Empty;
        var topic = string.Join(' ', lastUser.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(6));
        if (topic.Length > 60)
        {
            topic = topic[..60];
        }

        sb.Append("Offline answer");
        if (topic.Length > 0)
        {
            sb.Append(" about \"").Append(topic).Append('"');
        }

        sb.Append(':');
        var sentences = 2 + rng.NextInt(3);
        for (var s = 0; s < sentences; s++)
        {
            sb.Append(' ').Append(Sentence(ref rng));
        }

        return sb.ToString();
    }

    private static string Sentence(ref SplitMix64 rng)
    {
        var words = 6 + rng.NextInt(10);
        var sb = new StringBuilder();
        for (var i = 0; i < words; i++)
        {
            var word = Vocabulary[rng.NextInt(Vocabulary.Length)];
            if (i == 0)
            {
                sb.Append(char.ToUpperInvariant(word[0])).Append(word.AsSpan(1));
            }
            else
            {
                sb.Append(' ').Append(word);
            }
        }

        return sb.Append('.').ToString();
    }

    public static string JsonObject(IReadOnlyList<ChatMessage> messages, ref SplitMix64 rng)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("answer", Sentence(ref rng));
            w.WriteNumber("confidence", Math.Round(rng.NextDouble(), 2));
            w.WriteNumber("messages_seen", messages.Count);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static string JsonInstance(JsonElement schema, ref SplitMix64 rng)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            WriteInstance(w, schema, schema, ref rng, 0);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteInstance(Utf8JsonWriter w, JsonElement schema, JsonElement root, ref SplitMix64 rng, int depth)
    {
        if (schema.ValueKind != JsonValueKind.Object || depth > 8)
        {
            w.WriteNullValue();
            return;
        }

        if (schema.TryGetProperty("$ref", out var reference) && Resolve(root, reference.GetString()) is { } target)
        {
            WriteInstance(w, target, root, ref rng, depth + 1);
            return;
        }

        if (schema.TryGetProperty("const", out var constant))
        {
            constant.WriteTo(w);
            return;
        }

        if (schema.TryGetProperty("enum", out var values) && values.ValueKind == JsonValueKind.Array && values.GetArrayLength() > 0)
        {
            values[rng.NextInt(values.GetArrayLength())].WriteTo(w);
            return;
        }

        foreach (var combinator in (string[])["anyOf", "oneOf", "allOf"])
        {
            if (schema.TryGetProperty(combinator, out var options) && options.ValueKind == JsonValueKind.Array && options.GetArrayLength() > 0)
            {
                WriteInstance(w, options[0], root, ref rng, depth + 1);
                return;
            }
        }

        var type = "object";
        if (schema.TryGetProperty("type", out var typeElement))
        {
            type = typeElement.ValueKind == JsonValueKind.Array
                ? typeElement.EnumerateArray().Select(t => t.GetString()).FirstOrDefault(t => t != "null") ?? "null"
                : typeElement.GetString() ?? "object";
        }
        else if (!schema.TryGetProperty("properties", out _))
        {
            type = "string";
        }

        switch (type)
        {
            case "object":
                w.WriteStartObject();
                if (schema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object)
                {
                    foreach (var property in properties.EnumerateObject())
                    {
                        w.WritePropertyName(property.Name);
                        WriteInstance(w, property.Value, root, ref rng, depth + 1);
                    }
                }

                w.WriteEndObject();
                break;
            case "array":
                var min = schema.TryGetProperty("minItems", out var minItems) && minItems.TryGetInt32(out var mi) ? mi : 1;
                var max = schema.TryGetProperty("maxItems", out var maxItems) && maxItems.TryGetInt32(out var ma) ? ma : Math.Max(min, 3);
                var count = Math.Min(min + rng.NextInt(Math.Max(1, max - min + 1)), 16);
                w.WriteStartArray();
                var items = schema.TryGetProperty("items", out var itemSchema) ? itemSchema : default;
                for (var i = 0; i < count; i++)
                {
                    WriteInstance(w, items, root, ref rng, depth + 1);
                }

                w.WriteEndArray();
                break;
            case "integer":
                var lo = schema.TryGetProperty("minimum", out var minimum) && minimum.TryGetInt64(out var l) ? l : 0;
                var hi = schema.TryGetProperty("maximum", out var maximum) && maximum.TryGetInt64(out var h) ? h : lo + 100;
                w.WriteNumberValue(hi <= lo ? lo : lo + (long)(rng.Next() % (ulong)(hi - lo + 1)));
                break;
            case "number":
                var nlo = schema.TryGetProperty("minimum", out var nmin) && nmin.TryGetDouble(out var dl) ? dl : 0;
                var nhi = schema.TryGetProperty("maximum", out var nmax) && nmax.TryGetDouble(out var dh) ? dh : nlo + 1;
                w.WriteNumberValue(Math.Round(nlo + (rng.NextDouble() * (nhi - nlo)), 3));
                break;
            case "boolean":
                w.WriteBooleanValue(rng.NextInt(2) == 1);
                break;
            case "null":
                w.WriteNullValue();
                break;
            default:
                w.WriteStringValue(StringFor(schema, ref rng));
                break;
        }
    }

    private static string StringFor(JsonElement schema, ref SplitMix64 rng)
    {
        var format = schema.TryGetProperty("format", out var f) ? f.GetString() : null;
        var text = format switch
        {
            "date-time" => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMinutes(rng.NextInt(525_600)).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            "date" => new DateOnly(2026, 1, 1).AddDays(rng.NextInt(365)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            "email" => $"{Vocabulary[rng.NextInt(Vocabulary.Length)]}@example.com",
            "uri" => $"https://example.com/{Vocabulary[rng.NextInt(Vocabulary.Length)]}",
            "uuid" => new Guid(BitConverter.GetBytes(rng.Next()).Concat(BitConverter.GetBytes(rng.Next())).ToArray()).ToString(),
            _ => Sentence(ref rng).TrimEnd('.'),
        };
        var minLength = schema.TryGetProperty("minLength", out var mn) && mn.TryGetInt32(out var a) ? a : 0;
        var maxLength = schema.TryGetProperty("maxLength", out var mx) && mx.TryGetInt32(out var b) ? b : int.MaxValue;
        if (text.Length < minLength)
        {
            text = text.PadRight(minLength, 'x');
        }

        return text.Length > maxLength ? text[..maxLength] : text;
    }

    private static JsonElement? Resolve(JsonElement root, string? reference)
    {
        if (reference is null || !reference.StartsWith("#/", StringComparison.Ordinal))
        {
            return null;
        }

        var current = root;
        foreach (var segment in reference[2..].Split('/'))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(segment.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal), out current))
            {
                return null;
            }
        }

        return current;
    }
}
