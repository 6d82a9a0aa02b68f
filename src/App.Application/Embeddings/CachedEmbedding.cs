namespace App.Application.Embeddings;

/// <summary>One item's vector as the cache keeps it, with the tokens it cost, so a hit reports the same usage.</summary>
public sealed record CachedEmbedding(float[] Vector, int Tokens);
