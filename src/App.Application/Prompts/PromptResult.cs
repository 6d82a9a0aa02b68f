using System.Text.Json;
using App.Application.Calls;

namespace App.Application.Prompts;

/// <summary>A run's answer: the output (valid against its schema) and how it came to be.</summary>
public sealed record PromptResult(
    PromptTemplate Template,
    JsonElement Output,
    string Model,
    long InputTokens,
    long OutputTokens,
    bool Repaired,
    bool Cached,
    GuardVerdict? Guard);
