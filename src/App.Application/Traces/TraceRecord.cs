namespace App.Application.Traces;

/// <summary>One model call as stored: who, what, how it went, what it cost. Content is stored redacted and encrypted.</summary>
public sealed class TraceRecord
{
    /// <summary>Column widths of what upstreams report; longer values are cut to fit (<see cref="StoredText.Fit"/>).</summary>
    public const int MaxResponseModelLength = 128;

    public const int MaxFinishReasonLength = 32;

    public Guid Id { get; init; }

    public required string TenantId { get; init; }

    /// <summary>The OpenTelemetry trace id of the request (32 hex), so a stored trace leads to its spans and logs; a fresh id of the same form for a request without an activity.</summary>
    public string? TraceId { get; init; }

    public string? UserId { get; init; }

    public required string ModelAlias { get; init; }

    public string? Provider { get; init; }

    public string? Deployment { get; init; }

    public string? ResponseModel { get; init; }

    /// <summary><c>ok</c>, <c>error</c>, <c>rejected</c> (refused by the gateway) or <c>cancelled</c>.</summary>
    public required string Status { get; init; }

    public string? ErrorType { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    public double LatencyMs { get; init; }

    public double? TimeToFirstTokenMs { get; init; }

    public long? InputTokens { get; set; }

    public long? OutputTokens { get; set; }

    /// <summary>Where the token counts come from: <c>provider</c> (reported usage), <c>tokenizer</c> (counted here) or <c>none</c>.</summary>
    public required string TokenSource { get; set; }

    public bool Cached { get; init; }

    public bool Streamed { get; init; }

    public int Retries { get; init; }

    public bool FallbackUsed { get; init; }

    public float? Temperature { get; init; }

    public string? FinishReason { get; init; }

    /// <summary>
    /// What the call cost, in nano-dollars (10^-9 USD), from its tokens and the model alias's price
    /// (<c>Traffic:Prices</c>) when it was written: 0 for a cache hit or an unpriced alias, null when no tokens are known.
    /// </summary>
    public long? CostNanoUsd { get; set; }

    /// <summary>Data classification of the content: <c>none</c> (not captured), <c>redacted</c> or <c>full</c>.</summary>
    public string Classification { get; set; } = "none";

    /// <summary>Redactions by kind, e.g. <c>{"EMAIL":2}</c>, as JSON.</summary>
    public string? Redactions { get; set; }

    /// <summary>The input guard's score (0 to 1) when it checked the call, and the rules that matched (comma-separated).</summary>
    public float? GuardScore { get; set; }

    public string? GuardRules { get; set; }

    public byte[]? PromptCiphertext { get; set; }

    public byte[]? OutputCiphertext { get; set; }
}
