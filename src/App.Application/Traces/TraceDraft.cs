namespace App.Application.Traces;

/// <summary>What the gateway hands to the trace pipeline; content is still in clear and never leaves the process so.</summary>
/// <param name="Record">The trace.</param>
/// <param name="Messages">The conversation as sent (stored as "role: text" lines; tokens counted from it when the provider reported none).</param>
/// <param name="Output">The answer as the client received it.</param>
public sealed record TraceDraft(TraceRecord Record, IReadOnlyList<(string Role, string Text)>? Messages, string? Output);
