using App.Application.Traffic;
using Microsoft.Extensions.AI;

namespace App.Application.Calls;

/// <summary>A validated chat request, in provider-neutral form, with who is asking.</summary>
/// <param name="Alias">The model alias the client named.</param>
/// <param name="Messages">The conversation, in order.</param>
/// <param name="Options">Everything forwarded to the provider. Whatever is here is part of the cache key.</param>
/// <param name="Scope">The tenant or principal scope the cache is partitioned by.</param>
/// <param name="EndUser">The client's <c>user</c> field: recorded, never forwarded upstream.</param>
public sealed record GatewayRequest(
    string Alias,
    IReadOnlyList<ChatMessage> Messages,
    ChatOptions Options,
    string Scope,
    string? EndUser)
{
    /// <summary>Whose rate limits and budget the call counts against; null for calls that count against none.</summary>
    public UsageCaller? Caller { get; init; }

    /// <summary>
    /// The similarity the caller asks a semantic hit to reach (<c>x-semantic-threshold</c>); it can only raise the
    /// configured threshold, never lower it. Not forwarded, and not part of any cache key.
    /// </summary>
    public double? SemanticThreshold { get; init; }
}
