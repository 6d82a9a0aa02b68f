using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

/// <summary>
/// Message <c>content</c> is a string, or an array of content parts of which we accept <c>text</c> parts
/// (joined in order). Other part types (images, audio) are refused rather than dropped.
/// </summary>
public sealed class MessageContentConverter : JsonConverter<string>
{
    public override bool HandleNull => false;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("must be a string or an array of content parts");
        }

        var text = new StringBuilder();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException("content parts must be objects");
            }

            string? type = null;
            string? partText = null;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var name = reader.GetString();
                reader.Read();
                switch (name)
                {
                    case "type" or "text" when (name == "type" ? type : partText) is not null:
                        throw new JsonException($"Duplicate property '{name}' in a content part.");
                    case "type" when reader.TokenType == JsonTokenType.String:
                        type = reader.GetString();
                        break;
                    case "text" when reader.TokenType == JsonTokenType.String:
                        partText = reader.GetString();
                        break;
                    default:
                        throw new JsonException($"content part member '{name}' is not supported; only text parts are");
                }
            }

            if (type != "text" || partText is null)
            {
                throw new JsonException("only content parts of type 'text' with a 'text' string are supported");
            }

            text.Append(partText);
        }

        return text.ToString();
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value);
    }
}
