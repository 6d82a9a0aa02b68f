using App.Application.Caching;

namespace App.Application.Semantic;

/// <summary>One answered question of a partition: its text (for the verifier), its vector and the answer.</summary>
public sealed record SemanticEntry(string Question, float[] Vector, CachedCompletion Answer);
