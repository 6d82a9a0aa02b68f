using System.Globalization;
using System.Text.Json;
using App.Application.Prompts;
using NJsonSchema;
using NJsonSchema.Validation;

namespace App.Infrastructure.Prompts;

/// <summary>A JSON Schema compiled by NJsonSchema.</summary>
internal sealed class CompiledSchema : IJsonSchema
{
    private readonly JsonSchema _schema;

    private CompiledSchema(JsonSchema schema, JsonElement document)
    {
        _schema = schema;
        Document = document;
        Properties = schema.ActualProperties.Keys.ToArray();
    }

    public JsonElement Document { get; }

    public IReadOnlyCollection<string> Properties { get; }

    public static async Task<CompiledSchema> LoadAsync(string path)
    {
        var text = await File.ReadAllTextAsync(path).ConfigureAwait(false);
        using var document = JsonDocument.Parse(text);
        return new CompiledSchema(await JsonSchema.FromJsonAsync(text, path).ConfigureAwait(false), document.RootElement.Clone());
    }

    public IReadOnlyList<string> Validate(string json)
    {
        try
        {
            using var _ = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            return [string.Create(CultureInfo.InvariantCulture, $"$: not valid JSON ({ex.Message.Split('.')[0]})")];
        }

        return [.. _schema.Validate(json).SelectMany(Flatten).Select(e => $"{(string.IsNullOrEmpty(e.Path) ? "#" : e.Path)}: {e.Kind}")];
    }

    private static IEnumerable<ValidationError> Flatten(ValidationError error) =>
        error is ChildSchemaValidationError child ? child.Errors.SelectMany(e => e.Value).SelectMany(Flatten).Prepend(error) : [error];
}
