namespace App.Application.Calls;

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
