namespace App.Application.Prompts;

/// <summary><c>Prompts</c>: where templates live and how output is held to its contract.</summary>
public sealed class PromptOptions
{
    public const string Section = "Prompts";

    /// <summary>The templates' directory, relative to the content root.</summary>
    public string Directory { get; init; } = "prompts";

    /// <summary>Calls made to fix output that does not match its schema (0 or 1).</summary>
    public int RepairAttempts { get; init; } = 1;

    /// <summary>Rendered templates kept in memory, by template and input.</summary>
    public int RenderCacheSize { get; init; } = 1024;
}
