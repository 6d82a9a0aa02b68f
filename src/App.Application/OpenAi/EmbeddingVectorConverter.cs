using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

/// <summary>Writes and reads <see cref="EmbeddingVector"/> in either wire form.</summary>
public sealed class EmbeddingVectorConverter : JsonConverter<EmbeddingVector>
{
    public override EmbeddingVector? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            var bytes = reader.GetBytesFromBase64();
            if (bytes.Length % 4 != 0)
            {
                throw new JsonException("must be base64 of float32 values");
            }

            var values = new float[bytes.Length / 4];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4));
            }

            return new EmbeddingVector(values, true);
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("must be an array of numbers or a base64 string");
        }

        var list = new List<float>(1536);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            list.Add(reader.TokenType == JsonTokenType.Number ? reader.GetSingle() : throw new JsonException("must be an array of numbers"));
        }

        return new EmbeddingVector([.. list], false);
    }

    public override void Write(Utf8JsonWriter writer, EmbeddingVector value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        if (value.Base64)
        {
            var bytes = new byte[value.Values.Length * 4];
            for (var i = 0; i < value.Values.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), value.Values[i]);
            }

            writer.WriteBase64StringValue(bytes);
            return;
        }

        writer.WriteStartArray();
        foreach (var v in value.Values)
        {
            writer.WriteNumberValue(v);
        }

        writer.WriteEndArray();
    }
}
