using System.Security.Claims;
using App.Application.Identity;
using App.Infrastructure.Identity;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.JsonWebTokens;

namespace App.Api.Auth;

/// <summary>What every bearer scheme (ours and each external issuer's) is held to beyond JwtBearer's defaults.</summary>
internal static partial class BearerHardening
{
    public static void Apply(JwtBearerOptions o, JsonWebTokenHandler handler, int maxTokenBytes)
    {
        // Claims keep their JWT names (sub, scope...) instead of being remapped to long URIs.
        o.MapInboundClaims = false;
        // WWW-Authenticate says "Bearer" and nothing about why: no oracle for an attacker.
        o.IncludeErrorDetails = false;
        o.SaveToken = false;
        handler.MapInboundClaims = false;
        handler.MaximumTokenSizeInBytes = maxTokenBytes;
        o.TokenHandlers.Clear();
        o.TokenHandlers.Add(handler);
    }

    public static JwtBearerEvents Events(bool checkRevocation) => new()
    {
        OnMessageReceived = context =>
        {
            // Tokens in URLs end up in logs, history and referrers: refuse them outright.
            if (context.Request.Query.ContainsKey("access_token"))
            {
                context.Fail("Access tokens in the query string are not accepted.");
                LogFailure(context.HttpContext, context.Scheme.Name, "token in the query string");
            }

            return Task.CompletedTask;
        },
        OnTokenValidated = async context =>
        {
            if (checkRevocation)
            {
                var principal = context.Principal!;
                var revoked = await context.HttpContext.RequestServices.GetRequiredService<RevocationList>()
                    .IsRevokedAsync(principal.FindFirstValue(TokenClaims.Subject), principal.FindFirstValue(TokenClaims.Session));
                if (revoked == true)
                {
                    context.Fail("The session was revoked.");
                    LogFailure(context.HttpContext, context.Scheme.Name, "session revoked");
                }
            }
        },
        OnAuthenticationFailed = context =>
        {
            // The exception's type says why (expired, bad signature...); its message may quote the token, so not that.
            LogFailure(context.HttpContext, context.Scheme.Name, context.Exception.GetType().Name);
            return Task.CompletedTask;
        },
    };

    public static void LogFailure(HttpContext context, string scheme, string reason)
    {
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("App.Api.Authentication");
        var path = context.Request.Path.Value ?? string.Empty;
        LogAuthenticationFailed(logger, scheme, reason, path);
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Authentication failed ({Scheme}: {Reason}) on {Path}")]
    private static partial void LogAuthenticationFailed(ILogger logger, string scheme, string reason, string path);
}
