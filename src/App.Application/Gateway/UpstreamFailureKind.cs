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
