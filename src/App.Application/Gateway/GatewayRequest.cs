using App.Application.Traffic;
using Microsoft.Extensions.AI;

namespace App.Application.Gateway;

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
}

/// <summary>What happened to one call, filled in as it goes: the trace record and telemetry are made from it.</summary>
public sealed class ChatCallRecord
{
    public CacheStatus Cache { get; set; } = CacheStatus.Bypass;
    public string? DeploymentId { get; set; }
    public string? Provider { get; set; }
    public string? ResponseModel { get; set; }
    public int Retries { get; set; }
    public bool FallbackUsed { get; set; }
    public TimeSpan? TimeToFirstToken { get; set; }
    public long? InputTokens { get; set; }
    public long? OutputTokens { get; set; }
    public string? FinishReason { get; set; }
    public string? ErrorType { get; set; }

    /// <summary>What the input guard found (null when the route does not check).</summary>
    public App.Application.Guard.GuardVerdict? Guard { get; set; }

    /// <summary>What the rate limiter decided, for the RateLimit headers (null when the call was not checked).</summary>
    public Admission? Admission { get; set; }

    /// <summary>The answer's text as the client received it (for the trace; null when nothing was produced).</summary>
    public string? Output { get; set; }
}

public enum CacheStatus
{
    Bypass,
    Miss,
    Hit,
}
