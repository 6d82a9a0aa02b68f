namespace App.Application.Embeddings;

/// <summary>What a provider returned for a batch: one vector per item in order, and the tokens it counted.</summary>
/// <param name="Vectors">One vector per item sent, in the order sent.</param>
/// <param name="InputTokens">The tokens the provider billed for the whole batch, when it said.</param>
/// <param name="Model">The model the provider says answered, when it said.</param>
public sealed record EmbeddingBatch(IReadOnlyList<float[]> Vectors, long? InputTokens, string? Model);
