namespace App.Application.Gateway;

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
