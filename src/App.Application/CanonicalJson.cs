using System.Buffers;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace App.Application;

/// <summary>
/// A request body's identity for idempotency: the same JSON hashes the same whatever its whitespace, member order or
/// string escapes. Members are ordered by name (ordinal), strings re-escaped one way, numbers kept as written (so
/// <c>1</c> and <c>1.0</c> differ). A body that is not JSON is hashed as its bytes.
/// </summary>
public static class CanonicalJson
{
    private static readonly JsonWriterOptions Writer = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    /// <summary>SHA-256 of the canonical form of <paramref name="body"/>, after <paramref name="prefix"/>.</summary>
    public static byte[] Hash(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> body)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(prefix);
        if (Canonical(body) is { } canonical)
        {
            hash.AppendData(canonical.WrittenSpan);
        }
        else
        {
            hash.AppendData(body);
        }

        return hash.GetHashAndReset();
    }

    /// <summary>The canonical form, or null when <paramref name="body"/> is not one JSON value.</summary>
    public static ArrayBufferWriter<byte>? Canonical(ReadOnlySpan<byte> body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException)
        {
            return null;
        }

        using (document)
        {
            var buffer = new ArrayBufferWriter<byte>(Math.Max(body.Length, 1));
            using var writer = new Utf8JsonWriter(buffer, Writer);
            try
            {
                Write(writer, document.RootElement);
            }
            catch (InvalidOperationException)
            {
                return null; // a string that is not valid Unicode: the bytes are the identity
            }

            writer.Flush();
            return buffer;
        }
    }

    private static void Write(Utf8JsonWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var member in element.EnumerateObject().OrderBy(m => m.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(member.Name);
                    Write(writer, member.Value);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Write(writer, item);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(element.GetString());
                break;
            default:
                // Numbers as written; true, false and null have one spelling.
                writer.WriteRawValue(element.GetRawText(), skipInputValidation: true);
                break;
        }
    }
}
