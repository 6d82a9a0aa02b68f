namespace App.Application.Calls;

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
