namespace App.Application.Prompts;

/// <summary>The catalog of prompt templates, latest version first by name.</summary>
public interface IPromptCatalog
{
    IReadOnlyList<PromptTemplate> All { get; }

    /// <summary>The named template at <paramref name="version"/>, or its latest version when null.</summary>
    PromptTemplate? Find(string name, int? version);
}
