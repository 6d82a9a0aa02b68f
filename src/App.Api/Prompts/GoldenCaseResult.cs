namespace App.Api.Prompts;

/// <summary>
/// One golden input replayed: whether its output matched the schema and the recording, where it differed, and its
/// score: the share of the recording's fields it reproduced (0 when it has no valid output).
/// </summary>
internal sealed record GoldenCaseResult(string Template, string Id, bool Valid, bool Exact, IReadOnlyList<string> Deltas, string? Error, double Score);
