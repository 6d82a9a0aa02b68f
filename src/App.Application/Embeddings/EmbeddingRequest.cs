using App.Application.Traffic;

namespace App.Application.Embeddings;

/// <summary>A validated embeddings request, in provider-neutral form, with who is asking.</summary>
/// <param name="Alias">The model alias the client named.</param>
/// <param name="Items">The inputs, in the order the answer keeps.</param>
/// <param name="Dimensions">The vector length asked for, or null for the model's own.</param>
/// <param name="Base64">Whether the client asked for <c>encoding_format: base64</c>.</param>
/// <param name="Scope">The tenant scope the cache is partitioned by.</param>
/// <param name="EndUser">The client's <c>user</c> field: recorded, never forwarded upstream.</param>
public sealed record EmbeddingRequest(
    string Alias,
    IReadOnlyList<EmbeddingItem> Items,
    int? Dimensions,
    bool Base64,
    string Scope,
    string? EndUser)
{
    /// <summary>Whose rate limits and budget the call counts against; null for calls that count against none.</summary>
    public UsageCaller? Caller { get; init; }

    /// <summary>Whether the inputs are token arrays rather than texts (a request holds one kind).</summary>
    public bool HasTokens => Items.Count > 0 && Items[0].Tokens is not null;
}
