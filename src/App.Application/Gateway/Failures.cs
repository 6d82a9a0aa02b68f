namespace App.Application.Gateway;

/// <summary>How an upstream call failed; decides retry, breaker, fallback and what the client is told.</summary>
public enum UpstreamFailureKind
{
    /// <summary>Connection refused or reset, DNS failure.</summary>
    Network,

    /// <summary>An attempt or the total time budget ran out.</summary>
    Timeout,

    /// <summary>HTTP 429 from the upstream.</summary>
    RateLimited,

    /// <summary>HTTP 5xx from the upstream.</summary>
    ServerError,

    /// <summary>HTTP 401/403/404 from the upstream: our key, URL or model name is wrong. Another deployment may still work.</summary>
    Misconfigured,

    /// <summary>HTTP 400/409/413/422: the request itself is refused. Retrying or falling back would not help.</summary>
    BadRequest,

    /// <summary>The upstream answered with something that is not the OpenAI format.</summary>
    Malformed,

    /// <summary>A stream ended without its terminator or carried an error event.</summary>
    StreamBroken,

    /// <summary>The deployment's circuit is open.</summary>
    CircuitOpen,

    /// <summary>The deployment's concurrency limit and queue are full.</summary>
    Saturated,
}

/// <summary>Thrown by providers and the resilience layer; the gateway decides what the client sees.</summary>
public sealed class UpstreamException : Exception
{
    public UpstreamException(UpstreamFailureKind kind, string message, int? statusCode = null, TimeSpan? retryAfter = null, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        StatusCode = statusCode;
        RetryAfter = retryAfter;
    }

    public UpstreamFailureKind Kind { get; }

    public int? StatusCode { get; }

    public TimeSpan? RetryAfter { get; }

    /// <summary>Worth another attempt on the same deployment (before the first token only).</summary>
    public bool IsTransient => Kind is UpstreamFailureKind.Network or UpstreamFailureKind.Timeout
        or UpstreamFailureKind.RateLimited or UpstreamFailureKind.ServerError or UpstreamFailureKind.Malformed;

    /// <summary>Counts against the deployment's health (the circuit breaker).</summary>
    public bool CountsAsFailure => IsTransient || Kind == UpstreamFailureKind.Misconfigured;

    /// <summary>The next deployment of the route may succeed where this one failed.</summary>
    public bool AllowsFallback => Kind != UpstreamFailureKind.BadRequest;
}

/// <summary>Errors the client is told about, with the HTTP status and stable problem type the API maps them to.</summary>
public enum GatewayErrorKind
{
    InvalidRequest,
    ModelNotFound,
    Overloaded,
    UpstreamUnavailable,
    UpstreamTimeout,
    UpstreamRejected,

    /// <summary>A rate limit of the caller (requests or tokens per minute) is used up.</summary>
    RateLimited,

    /// <summary>The request alone needs more tokens than the per-minute limit allows.</summary>
    RequestTooLarge,

    /// <summary>A budget of the caller's tenant is used up for the period.</summary>
    BudgetExceeded,
}

public sealed class GatewayException : Exception
{
    public GatewayException(GatewayErrorKind kind, string message, string? param = null, TimeSpan? retryAfter = null, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        Param = param;
        RetryAfter = retryAfter;
    }

    public GatewayErrorKind Kind { get; }

    public string? Param { get; }

    public TimeSpan? RetryAfter { get; }
}
