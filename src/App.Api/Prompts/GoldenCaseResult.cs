namespace App.Api.Prompts;

/// <summary>One golden input replayed: whether its output matched the schema and the recording, and where it differed.</summary>
internal sealed record GoldenCaseResult(string Template, string Id, bool Valid, bool Exact, IReadOnlyList<string> Deltas, string? Error);
