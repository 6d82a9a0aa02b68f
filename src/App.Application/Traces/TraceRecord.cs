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

/// <summary>What became of a model call, as a trace records it.</summary>
public static class TraceStatus
{
    public const string Ok = "ok";
    public const string Error = "error";
    public const string Rejected = "rejected";
    public const string Cancelled = "cancelled";

    public static readonly IReadOnlyList<string> All = [Ok, Error, Rejected, Cancelled];
}

/// <summary>What the gateway hands to the trace pipeline; content is still in clear and never leaves the process so.</summary>
/// <param name="Record">The trace.</param>
/// <param name="Messages">The conversation as sent (stored as "role: text" lines; tokens counted from it when the provider reported none).</param>
/// <param name="Output">The answer as the client received it.</param>
public sealed record TraceDraft(TraceRecord Record, IReadOnlyList<(string Role, string Text)>? Messages, string? Output);

/// <summary><c>Traces</c>: what is captured and how it is written.</summary>
public sealed class TraceOptions
{
    public const string Section = "Traces";

    public bool Enabled { get; init; } = true;

    /// <summary><c>Off</c>: no content. <c>Redacted</c> (default): personal data and secrets replaced, then encrypted. <c>Full</c>: encrypted as is.</summary>
    public ContentCapture Content { get; init; } = ContentCapture.Redacted;

    /// <summary>Traces waiting to be written; beyond it new traces are dropped and counted, requests never wait.</summary>
    public int QueueCapacity { get; init; } = 10_000;

    public int BatchSize { get; init; } = 500;

    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The writer's thread runs at the lowest CPU priority, so requests take the core from it at once; when its queue is
    /// half full it catches up at normal priority. Off: it always runs at normal priority.
    /// </summary>
    public bool LowPriority { get; init; } = true;

    /// <summary>Content longer than this (characters) is cut before redaction and encryption.</summary>
    public int MaxContentChars { get; init; } = 32_768;

    /// <summary>
    /// A file of this instance's own where the writer notes how many accepted traces are not stored yet, so that the
    /// next start counts what a crash lost (<c>app.traces.lost_at_crash</c>). Empty: not kept.
    /// </summary>
    public string? LedgerPath { get; init; }
}

public enum ContentCapture
{
    Off,
    Redacted,
    Full,
}

/// <summary>The port the gateway records through: never blocks, never throws.</summary>
public interface ITraceSink
{
    /// <summary>False when the queue is full (the trace is dropped and counted).</summary>
    bool TryRecord(TraceDraft draft);
}
