using System.Numerics.Tensors;

namespace App.Application.Semantic;

/// <summary>
/// The exact search inside one partition: the cosine similarity of the question's vector with every entry's, with
/// SIMD (<see cref="TensorPrimitives"/>). A partition holds at most
/// <see cref="SemanticCacheOptions.MaxEntriesPerPartition"/> entries, so a search costs at most that many dot
/// products of the model's length (256 x 384 floats: about 0.1 M multiply-adds).
/// </summary>
public static class SemanticIndex
{
    /// <summary>The entry most similar to <paramref name="query"/> and its similarity, or (-1, -1) for none.</summary>
    public static (int Index, float Similarity) Nearest(ReadOnlySpan<float> query, IReadOnlyList<float[]> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var best = -1;
        var bestScore = -1f;
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Length != query.Length)
            {
                continue;
            }

            var score = TensorPrimitives.CosineSimilarity(query, entries[i]);
            if (score > bestScore)
            {
                best = i;
                bestScore = score;
            }
        }

        return (best, bestScore);
    }

    /// <summary>
    /// Whether the nearest entry may be served: in the same partition (the caller searched only there), at or above
    /// the threshold, and agreeing with the question on negation, numbers and entities.
    /// </summary>
    public static bool Serves(float similarity, double threshold, string cachedQuestion, string question) =>
        similarity >= threshold && SemanticVerifier.Agree(cachedQuestion, question);
}
