using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace App.Api.Auth;

/// <summary>Logs every refused authorization (never the token), then answers as the default handler does.</summary>
internal sealed partial class LoggingAuthorizationResultHandler(ILogger<LoggingAuthorizationResultHandler> logger) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Forbidden)
        {
            var missing = authorizeResult.AuthorizationFailure?.FailedRequirements.OfType<ScopeRequirement>().Select(r => r.Scope).FirstOrDefault() ?? "a requirement";
            var caller = Caller.From(context.User);
            LogForbidden(logger, caller.Subject, caller.TenantOrNull, missing, context.Request.Method, context.Request.Path);
        }

        return _default.HandleAsync(next, context, policy, authorizeResult);
    }

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Authorization failed: {Subject} of tenant {TenantId} lacks {Requirement} for {Method} {Path}")]
    private static partial void LogForbidden(ILogger logger, string? subject, string? tenantId, string requirement, string method, string path);
}
