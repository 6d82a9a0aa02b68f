using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using App.Application.Prompts;
using NJsonSchema;

namespace App.Infrastructure.Prompts;

/// <summary>
/// Prompt templates from <c>prompts/&lt;name&gt;/v&lt;n&gt;.json</c>, each with <c>v&lt;n&gt;.input.schema.json</c> and
/// <c>v&lt;n&gt;.output.schema.json</c> beside it, loaded and checked once at start: a template that does not parse,
/// lacks a schema or uses a placeholder its input schema does not define stops start-up.
/// </summary>
public sealed partial class PromptCatalog : IPromptCatalog
{
    private readonly Dictionary<string, List<PromptTemplate>> _byName;

    private PromptCatalog(Dictionary<string, List<PromptTemplate>> byName)
    {
        _byName = byName;
        All = [.. byName.Values.SelectMany(v => v).OrderBy(t => t.Name, StringComparer.Ordinal).ThenByDescending(t => t.Version)];
    }

    public IReadOnlyList<PromptTemplate> All { get; }

    public PromptTemplate? Find(string name, int? version) =>
        _byName.TryGetValue(name, out var versions)
            ? version is { } v ? versions.FirstOrDefault(t => t.Version == v) : versions[0]
            : null;

    public static async Task<PromptCatalog> LoadAsync(string directory)
    {
        var byName = new Dictionary<string, List<PromptTemplate>>(StringComparer.Ordinal);
        if (!Directory.Exists(directory))
        {
            return new PromptCatalog(byName);
        }

        foreach (var folder in Directory.EnumerateDirectories(directory).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(folder);
            if (!NamePattern().IsMatch(name))
            {
                throw new InvalidDataException($"Prompt folder '{name}': names are lower-case letters, digits and dashes.");
            }

            foreach (var file in Directory.EnumerateFiles(folder, "v*.json"))
            {
                var match = VersionFile().Match(Path.GetFileName(file));
                if (!match.Success)
                {
                    continue;
                }

                var version = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
                var definition = JsonSerializer.Deserialize(await File.ReadAllTextAsync(file).ConfigureAwait(false), PromptJsonContext.Default.PromptDefinition)
                    ?? throw new InvalidDataException($"{file} is empty.");
                if (string.IsNullOrWhiteSpace(definition.Model) || string.IsNullOrWhiteSpace(definition.Template))
                {
                    throw new InvalidDataException($"{file}: 'model' and 'template' are required.");
                }

                var input = await CompiledSchema.LoadAsync(Path.Combine(folder, $"v{version}.input.schema.json")).ConfigureAwait(false);
                var output = await CompiledSchema.LoadAsync(Path.Combine(folder, $"v{version}.output.schema.json")).ConfigureAwait(false);
                var list = byName.TryGetValue(name, out var existing) ? existing : byName[name] = [];
                list.Add(new PromptTemplate(name, version, definition, input, output));
            }
        }

        foreach (var list in byName.Values)
        {
            list.Sort((a, b) => b.Version.CompareTo(a.Version));
        }

        return new PromptCatalog(byName);
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^v([0-9]{1,4})\\.json$")]
    private static partial Regex VersionFile();
}
