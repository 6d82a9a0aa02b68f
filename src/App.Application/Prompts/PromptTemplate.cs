using System.Globalization;
using System.Text;
using System.Text.Json;

namespace App.Application.Prompts;

/// <summary>
/// A named, versioned prompt with its contracts: the input it accepts and the output it must produce, both as JSON
/// Schemas. The template is parsed once into literal and placeholder parts.
/// </summary>
public sealed class PromptTemplate
{
    private readonly (string Text, bool IsPlaceholder)[] _parts;

    public PromptTemplate(string name, int version, PromptDefinition definition, IJsonSchema input, IJsonSchema output)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(input);
        Name = name;
        Version = version;
        Definition = definition;
        Input = input;
        Output = output;
        _parts = Parse(definition.Template);
        var unknown = _parts.Where(p => p.IsPlaceholder && !input.Properties.Contains(p.Text)).Select(p => p.Text).ToList();
        if (unknown.Count > 0)
        {
            throw new InvalidDataException($"Prompt {name} v{version}: placeholders {string.Join(", ", unknown.Select(u => "{{" + u + "}}"))} are not properties of its input schema.");
        }
    }

    public string Name { get; }

    public int Version { get; }

    public string Id => string.Create(CultureInfo.InvariantCulture, $"{Name}@v{Version}");

    public PromptDefinition Definition { get; }

    public IJsonSchema Input { get; }

    public IJsonSchema Output { get; }

    /// <summary>Fills the placeholders: strings as they are, anything else as compact JSON; a missing value as empty.</summary>
    public string Render(JsonElement input)
    {
        var builder = new StringBuilder();
        foreach (var (text, isPlaceholder) in _parts)
        {
            if (!isPlaceholder)
            {
                builder.Append(text);
            }
            else if (input.ValueKind == JsonValueKind.Object && input.TryGetProperty(text, out var value))
            {
                builder.Append(value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText());
            }
        }

        return builder.ToString();
    }

    private static (string, bool)[] Parse(string template)
    {
        var parts = new List<(string, bool)>();
        var at = 0;
        while (at < template.Length)
        {
            var open = template.IndexOf("{{", at, StringComparison.Ordinal);
            if (open < 0)
            {
                parts.Add((template[at..], false));
                break;
            }

            var close = template.IndexOf("}}", open + 2, StringComparison.Ordinal);
            if (close < 0)
            {
                throw new InvalidDataException($"Unclosed placeholder at character {open} of the template.");
            }

            if (open > at)
            {
                parts.Add((template[at..open], false));
            }

            var name = template[(open + 2)..close].Trim();
            if (name.Length == 0)
            {
                throw new InvalidDataException($"Empty placeholder at character {open} of the template.");
            }

            parts.Add((name, true));
            at = close + 2;
        }

        return [.. parts];
    }
}
