using System.Globalization;
using System.Text.Json;
using App.Application.Calls;
using App.Application.Embeddings;

namespace App.Application.OpenAi;

/// <summary>
/// Validates an embeddings request and maps it to its provider-neutral form. Every refusal is a 400 naming the
/// member, and an item by its index (<c>input[3]</c>), so a client can find the one that is wrong in a large batch.
/// </summary>
public static class EmbeddingRequestMapper
{
    public static EmbeddingRequest Map(EmbeddingsRequest wire, string scope, EmbeddingOptions limits)
    {
        ArgumentNullException.ThrowIfNull(wire);
        ArgumentNullException.ThrowIfNull(limits);
        if (string.IsNullOrWhiteSpace(wire.Model))
        {
            throw Invalid("'model' is required.", "model");
        }

        var base64 = wire.EncodingFormat switch
        {
            null or "float" => false,
            "base64" => true,
            _ => throw Invalid($"Invalid value for 'encoding_format': '{wire.EncodingFormat}'. Use 'float' or 'base64'.", "encoding_format"),
        };
        if (wire.Dimensions is < 1)
        {
            throw Invalid("'dimensions' must be at least 1.", "dimensions");
        }

        if (wire.User is { Length: > 256 })
        {
            throw Invalid("'user' must be at most 256 characters.", "user");
        }

        var items = Items(wire.Input, limits);
        return new EmbeddingRequest(wire.Model, items, wire.Dimensions, base64, scope, wire.User);
    }

    private static List<EmbeddingItem> Items(JsonElement? input, EmbeddingOptions limits)
    {
        if (input is not { } value || value.ValueKind == JsonValueKind.Null)
        {
            throw Invalid("'input' is required: a string, an array of strings, or an array of token arrays.", "input");
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return [Text(value, "input", limits)];
            case JsonValueKind.Array:
                break;
            default:
                throw Invalid("Invalid type for 'input': expected a string, an array of strings, or an array of token arrays.", "input");
        }

        var count = value.GetArrayLength();
        if (count == 0)
        {
            throw Invalid("'input' must not be an empty array.", "input");
        }

        if (count > limits.MaxItems)
        {
            throw Invalid(string.Create(CultureInfo.InvariantCulture, $"'input' holds {count} items; at most {limits.MaxItems} are allowed per request."), "input");
        }

        var first = value[0].ValueKind;
        if (first == JsonValueKind.Number)
        {
            // One token array: [1, 2, 3].
            return [Tokens(value, "input", limits)];
        }

        var items = new List<EmbeddingItem>(count);
        var index = 0;
        foreach (var element in value.EnumerateArray())
        {
            var param = string.Create(CultureInfo.InvariantCulture, $"input[{index}]");
            items.Add(first switch
            {
                JsonValueKind.String when element.ValueKind == JsonValueKind.String => Text(element, param, limits),
                JsonValueKind.Array when element.ValueKind == JsonValueKind.Array => Tokens(element, param, limits),
                JsonValueKind.String or JsonValueKind.Array => throw Invalid(
                    $"Invalid type for '{param}': expected {(first == JsonValueKind.String ? "a string" : "an array of token ids")} like input[0]; an input holds one kind of item.", param),
                _ => throw Invalid("Invalid type for 'input[0]': expected a string, a token id, or an array of token ids.", "input[0]"),
            });
            index++;
        }

        return items;
    }

    private static EmbeddingItem Text(JsonElement element, string param, EmbeddingOptions limits)
    {
        var text = element.GetString()!;
        if (text.Length == 0)
        {
            throw Invalid($"'{param}' must not be an empty string.", param);
        }

        return text.Length <= limits.MaxItemChars
            ? EmbeddingItem.FromText(text)
            : throw Invalid(string.Create(CultureInfo.InvariantCulture, $"'{param}' has {text.Length} characters; at most {limits.MaxItemChars} are allowed per item."), param);
    }

    private static EmbeddingItem Tokens(JsonElement element, string param, EmbeddingOptions limits)
    {
        var count = element.GetArrayLength();
        if (count == 0)
        {
            throw Invalid($"'{param}' must not be an empty token array.", param);
        }

        if (count > limits.MaxItemTokens)
        {
            throw Invalid(string.Create(CultureInfo.InvariantCulture, $"'{param}' has {count} tokens; at most {limits.MaxItemTokens} are allowed per item."), param);
        }

        var tokens = new int[count];
        var i = 0;
        foreach (var token in element.EnumerateArray())
        {
            if (token.ValueKind != JsonValueKind.Number || !token.TryGetInt32(out var id) || id < 0)
            {
                var at = string.Create(CultureInfo.InvariantCulture, $"{param}[{i}]");
                throw Invalid($"Invalid type for '{at}': expected a token id (an integer from 0).", at);
            }

            tokens[i++] = id;
        }

        return EmbeddingItem.FromTokens(tokens);
    }

    private static GatewayException Invalid(string message, string param) =>
        new(GatewayErrorKind.InvalidRequest, message, param);
}
