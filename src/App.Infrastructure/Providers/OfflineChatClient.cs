using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace App.Infrastructure.Providers;

/// <summary>
/// The built-in model: no network, no key, and the same answer for the same request and seed, so the service
/// runs out of the box and tests can assert exact output. It honours what a real model would: max tokens
/// (finish reason <c>length</c>), stop sequences, <c>json_object</c> and <c>json_schema</c> response formats
/// (it emits an instance of the schema), streams token by token and reports usage. Its prose is not meant to
/// mean anything.
/// </summary>
public sealed class OfflineChatClient(string model, TimeSpan tokenDelay, TimeProvider time) : IChatClient
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

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        var answer = Generate(list, options);
        if (tokenDelay > TimeSpan.Zero)
        {
            await Task.Delay(tokenDelay * answer.Tokens.Count, time, cancellationToken).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, answer.Text))
        {
            ModelId = model,
            ResponseId = answer.Id,
            CreatedAt = time.GetUtcNow(),
            FinishReason = answer.Finish,
            Usage = answer.Usage,
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        var answer = Generate(list, options);
        var created = time.GetUtcNow();
        foreach (var token in answer.Tokens)
        {
            if (tokenDelay > TimeSpan.Zero)
            {
                await Task.Delay(tokenDelay, time, cancellationToken).ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            yield return new ChatResponseUpdate(ChatRole.Assistant, token) { ModelId = model, ResponseId = answer.Id, CreatedAt = created };
        }

        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            ModelId = model,
            ResponseId = answer.Id,
            CreatedAt = created,
            FinishReason = answer.Finish,
            Contents = [new UsageContent(answer.Usage)],
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType?.IsInstanceOfType(this) == true ? this : null;

    public void Dispose()
    {
    }

    /// <summary>Counts tokens the way the offline model does: words, numbers and single punctuation marks.</summary>
    public static int CountTokens(string text) => Tokenize(text).Count;

    internal sealed record Answer(string Id, string Text, IReadOnlyList<string> Tokens, ChatFinishReason Finish, UsageDetails Usage);

    internal Answer Generate(IReadOnlyList<ChatMessage> messages, ChatOptions? options)
    {
        var rng = new SplitMix64(SeedFrom(messages, options));
        var full = options?.ResponseFormat switch
        {
            ChatResponseFormatJson { Schema: { } schema } => JsonInstance(schema, ref rng),
            ChatResponseFormatJson => JsonObject(messages, ref rng),
            _ => Prose(messages, ref rng),
        };

        var finish = ChatFinishReason.Stop;
        if (options?.StopSequences is { Count: > 0 } stops)
        {
            var cut = stops.Select(s => full.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
            if (cut >= 0)
            {
                full = full[..cut];
            }
        }

        var tokens = Tokenize(full);
        if (options?.MaxOutputTokens is { } max && tokens.Count > max)
        {
            tokens = tokens.GetRange(0, max);
            finish = ChatFinishReason.Length;
        }

        var text = string.Concat(tokens);
        long input = 3 + messages.Sum(m => 4L + CountTokens(m.Text));
        var usage = new UsageDetails { InputTokenCount = input, OutputTokenCount = tokens.Count, TotalTokenCount = input + tokens.Count };
        var id = "chatcmpl-off" + rng.Next().ToString("x16", CultureInfo.InvariantCulture);
        return new Answer(id, text, tokens, finish, usage);
    }

    private long SeedFrom(IReadOnlyList<ChatMessage> messages, ChatOptions? options)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string? s)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(s ?? "\0"));
            hash.AppendData([0x1f]);
        }

        Add(model);
        foreach (var m in messages)
        {
            Add(m.Role.Value);
            Add(m.AuthorName);
            Add(m.Text);
        }

        Add(options?.Seed?.ToString(CultureInfo.InvariantCulture));
        Add(options?.Temperature?.ToString("R", CultureInfo.InvariantCulture));
        Add(options?.TopP?.ToString("R", CultureInfo.InvariantCulture));
        if (options?.ResponseFormat is ChatResponseFormatJson json)
        {
            Add(json.Schema?.GetRawText() ?? "json");
        }

        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return BitConverter.ToInt64(digest);
    }

    private static string Prose(IReadOnlyList<ChatMessage> messages, ref SplitMix64 rng)
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

    private static string JsonObject(IReadOnlyList<ChatMessage> messages, ref SplitMix64 rng)
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

    private static string JsonInstance(JsonElement schema, ref SplitMix64 rng)
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

    /// <summary>Splits text into model-like tokens: an optional leading space plus a run of letters/digits or one other character.</summary>
    internal static List<string> Tokenize(string text)
    {
        var tokens = new List<string>(text.Length / 4 + 1);
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            if (text[i] == ' ' && i + 1 < text.Length && text[i + 1] != ' ')
            {
                i++;
            }

            if (char.IsLetterOrDigit(text[i]))
            {
                while (i < text.Length && char.IsLetterOrDigit(text[i]))
                {
                    i++;
                }
            }
            else
            {
                i++;
            }

            tokens.Add(text[start..i]);
        }

        return tokens;
    }

    /// <summary>A small, fast PRNG whose sequence is fixed forever for a seed (unlike System.Random's contract).</summary>
    internal struct SplitMix64(long seed)
    {
        private ulong _state = unchecked((ulong)seed);

        public ulong Next()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        public int NextInt(int exclusiveMax) => (int)(Next() % (ulong)exclusiveMax);

        public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));
    }
}
