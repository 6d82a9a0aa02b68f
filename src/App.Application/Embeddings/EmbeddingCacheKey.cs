using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace App.Application.Embeddings;

/// <summary>
/// The key of one item's vector: a SHA-256 over the tenant scope, the model (alias and the upstream model behind it,
/// so a model swapped behind an alias starts fresh), the dimensions, the encoding asked for, and the SHA-256 of the
/// item. Neither text nor tenant can be read back from it.
/// </summary>
public static class EmbeddingCacheKey
{
    public const int Version = 1;

    public static string Compute(string prefix, string scope, string alias, string model, int dimensions, bool base64, EmbeddingItem item)
    {
        Span<byte> itemHash = stackalloc byte[32];
        if (item.Tokens is { } tokens)
        {
            var ints = tokens as int[] ?? [.. tokens];
            SHA256.HashData(MemoryMarshal.AsBytes(ints.AsSpan()), itemHash);
        }
        else
        {
            SHA256.HashData(Encoding.UTF8.GetBytes(item.Text!), itemHash);
        }

        var canonical = string.Create(
            CultureInfo.InvariantCulture,
            $"v{Version}\n{scope}\n{alias}\n{model}\n{dimensions}\n{(base64 ? "base64" : "float")}\n{(item.Tokens is null ? "text" : "tokens")}\n{Convert.ToHexStringLower(itemHash)}");
        return prefix + "emb:v" + Version.ToString(CultureInfo.InvariantCulture) + ":" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }
}
