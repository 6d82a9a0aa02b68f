using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace App.Application.Caching;

/// <summary>
/// The cache-key rules. A key is a SHA-256 over a canonical JSON form of everything that changes the output:
/// the scope (tenant), the model alias, every message (role, author name, text) and every option forwarded to
/// the provider. Member order and whitespace in the client's JSON cannot matter (we hash our own serialization),
/// stop sequences are a set, <c>max_tokens</c> and <c>max_completion_tokens</c> are one value. What is left out
/// on purpose: <c>stream</c> and <c>stream_options</c> (framing only; a hit replays either way), <c>user</c>
/// (never forwarded). JSON schemas are hashed as given, minified but with member order kept: providers emit
/// properties in schema order, so a reordered schema is a different request. Nothing secret is ever in the input:
/// the key reveals neither prompt nor tenant.
/// </summary>
public static class CacheKey
{
    /// <summary>True when the options ask for a reproducible answer.</summary>
    /// <summary>The cache partition of a tenant: answers are never shared across tenants.</summary>
    public static string TenantScope(string tenant) => "t:" + tenant;

    public static bool IsDeterministic(ChatOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Temperature == 0 || options.Seed is not null;
    }

    // Every cacheable request computes a key: the canonical form is written into a buffer and a writer kept per
    // thread (one that grew past KeepBytes for a large request is let go), not two new ones per request.
    private const int KeepBytes = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _threadBuffer;

    [ThreadStatic]
    private static Utf8JsonWriter? _threadWriter;

    public static string Compute(string prefix, int version, string scope, string alias, IReadOnlyList<ChatMessage> messages, ChatOptions options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(options);
        var buffer = _threadBuffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var w = _threadWriter;
        if (w is null)
        {
            _threadWriter = w = new Utf8JsonWriter(buffer);
        }
        else
        {
            w.Reset(buffer);
        }

        WriteCanonical(w, version, scope, alias, messages, options);
        w.Flush();
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(buffer.WrittenSpan, hash);
        if (buffer.Capacity > KeepBytes)
        {
            _threadBuffer = null;
            _threadWriter = null;
        }

        Span<char> hex = stackalloc char[64];
        Convert.TryToHexStringLower(hash, hex, out _);
        return string.Create(CultureInfo.InvariantCulture, $"{prefix}v{version}:{hex}");
    }

    /// <summary>The canonical form that is hashed; exposed for tests and for debugging a surprising miss.</summary>
    public static string Canonical(int version, string scope, string alias, IReadOnlyList<ChatMessage> messages, ChatOptions options) =>
        System.Text.Encoding.UTF8.GetString(Serialize(version, scope, alias, messages, options).WrittenSpan);

    private static ArrayBufferWriter<byte> Serialize(int version, string scope, string alias, IReadOnlyList<ChatMessage> messages, ChatOptions options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(options);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            WriteCanonical(w, version, scope, alias, messages, options);
        }

        return buffer;
    }

    private static void WriteCanonical(Utf8JsonWriter w, int version, string scope, string alias, IReadOnlyList<ChatMessage> messages, ChatOptions o)
    {
        w.WriteStartObject();
        w.WriteNumber("v", version);
        w.WriteString("scope", scope);
        w.WriteString("alias", alias);
        w.WriteStartArray("messages");
        foreach (var m in messages)
        {
            w.WriteStartArray();
            w.WriteStringValue(m.Role.Value);
            if (m.AuthorName is null)
            {
                w.WriteNullValue();
            }
            else
            {
                w.WriteStringValue(m.AuthorName);
            }

            w.WriteStringValue(m.Text);
            w.WriteEndArray();
        }

        w.WriteEndArray();
        WriteNumber(w, "temperature", o.Temperature);
        WriteNumber(w, "top_p", o.TopP);
        WriteNumber(w, "presence_penalty", o.PresencePenalty);
        WriteNumber(w, "frequency_penalty", o.FrequencyPenalty);
        if (o.MaxOutputTokens is { } max)
        {
            w.WriteNumber("max_tokens", max);
        }

        if (o.Seed is { } seed)
        {
            w.WriteNumber("seed", seed);
        }

        if (o.StopSequences is { Count: > 0 } stops)
        {
            w.WriteStartArray("stop");
            foreach (var s in stops.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                w.WriteStringValue(s);
            }

            w.WriteEndArray();
        }

        switch (o.ResponseFormat)
        {
            case ChatResponseFormatJson json:
                w.WriteStartObject("response_format");
                w.WriteString("type", json.Schema is null ? "json_object" : "json_schema");
                if (json.SchemaName is not null)
                {
                    w.WriteString("name", json.SchemaName);
                }

                if (json.SchemaDescription is not null)
                {
                    w.WriteString("description", json.SchemaDescription);
                }

                if (json.Schema is { } schema)
                {
                    w.WritePropertyName("schema");
                    schema.WriteTo(w);
                }

                w.WriteEndObject();
                break;
            default:
                // text and absent are the same request
                break;
        }

        if (o.AdditionalProperties is { Count: > 0 } extra)
        {
            w.WriteStartObject("extra");
            foreach (var (k, v) in extra.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.WritePropertyName(k);
                switch (v)
                {
                    case null: w.WriteNullValue(); break;
                    case bool b: w.WriteBooleanValue(b); break;
                    case string s: w.WriteStringValue(s); break;
                    case JsonElement e: e.WriteTo(w); break;
                    default: w.WriteStringValue(Convert.ToString(v, CultureInfo.InvariantCulture)); break;
                }
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static void WriteNumber(Utf8JsonWriter w, string name, float? value)
    {
        if (value is { } v)
        {
            // -0 and 0 ask for the same thing
            w.WriteNumber(name, v == 0 ? 0f : v);
        }
    }
}
