namespace App.Application.Embeddings;

/// <summary>The answer to an embeddings request: one vector per item in input order, and what it used.</summary>
/// <param name="Vectors">One vector per input item, in input order.</param>
/// <param name="PromptTokens">The tokens of every item, cached ones included (OpenAI's <c>usage.prompt_tokens</c>).</param>
/// <param name="Model">The model that answered.</param>
/// <param name="CachedItems">How many items came from the cache.</param>
public sealed record EmbeddingResult(IReadOnlyList<float[]> Vectors, long PromptTokens, string Model, int CachedItems);
