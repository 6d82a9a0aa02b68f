namespace App.Infrastructure.Traces;

/// <summary>A trace's content as it can be read: the texts, or <see cref="Erased"/> when its tenant's data key is gone.</summary>
public sealed record OpenedContent(string? Prompt, string? Output, bool Erased);
