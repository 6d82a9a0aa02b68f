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

    /// <summary>The input guard suspects a prompt injection and the route blocks.</summary>
    InputRejected,
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

/// <summary>How each <see cref="GatewayErrorKind"/> is told to clients: HTTP status, problem type slug, title, OpenAI error type and code.</summary>
public static class GatewayErrors
{
    public static (int Status, string Slug, string Title, string OpenAiType, string Code) Describe(GatewayErrorKind kind) => kind switch
    {
        GatewayErrorKind.InvalidRequest => (400, "invalid-request", "The request is invalid.", "invalid_request_error", "invalid_value"),
        GatewayErrorKind.ModelNotFound => (404, "model-not-found", "The model does not exist.", "invalid_request_error", "model_not_found"),
        GatewayErrorKind.Overloaded => (503, "overloaded", "The service is overloaded.", "server_error", "overloaded"),
        GatewayErrorKind.UpstreamTimeout => (504, "upstream-timeout", "The model provider timed out.", "api_error", "upstream_timeout"),
        GatewayErrorKind.UpstreamRejected => (400, "upstream-rejected", "The model provider rejected the request.", "invalid_request_error", "upstream_rejected"),
        GatewayErrorKind.RateLimited => (429, "rate-limited", "Rate limit reached.", "rate_limit_error", "rate_limit_exceeded"),
        GatewayErrorKind.RequestTooLarge => (400, "request-too-large", "The request exceeds the token rate limit on its own.", "invalid_request_error", "request_too_large"),
        GatewayErrorKind.BudgetExceeded => (429, "budget-exceeded", "The budget is used up.", "insufficient_quota", "insufficient_quota"),
        GatewayErrorKind.InputRejected => (400, "input-rejected", "The input was refused.", "invalid_request_error", "input_rejected"),
        _ => (502, "upstream-unavailable", "The model provider failed.", "api_error", "upstream_error"),
    };

    /// <summary>Worth running again later (the same request may then succeed).</summary>
    public static bool IsTransient(GatewayErrorKind kind) =>
        kind is GatewayErrorKind.Overloaded or GatewayErrorKind.UpstreamTimeout or GatewayErrorKind.UpstreamUnavailable or GatewayErrorKind.RateLimited;
}
