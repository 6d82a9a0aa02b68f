using System.Security.Claims;
using System.Threading.RateLimiting;
using App.Application.Identity;
using App.Infrastructure.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace App.Api.Hosting;

/// <summary>
/// Bearer authentication for our own tokens and for each configured OIDC issuer, hardened beyond the defaults,
/// and one authorization policy per scope. docs/security.md lists each control with the test that proves it.
/// </summary>
internal static partial class Authentication
{
    public const string PolicyScheme = "Bearer";
    public const string FirstPartyScheme = "app";

    public static WebApplicationBuilder AddAppAuthentication(this WebApplicationBuilder builder)
    {
        // Nothing here reads configuration directly: options are resolved after the host is built, so every
        // configuration source (including environment variables and test hosts) is seen.
        builder.Services.AddAuthentication(PolicyScheme)
            .AddPolicyScheme(PolicyScheme, "Bearer token", o => o.ForwardDefaultSelector = SelectScheme)
            .AddJwtBearer(FirstPartyScheme, _ => { });
        // Our own scheme is JwtBearer, configured as above, with a shortcut for tokens it has validated before.
        builder.Services.AddTransient<FirstPartyBearerHandler>();
        builder.Services.Configure<AuthenticationOptions>(o => o.SchemeMap[FirstPartyScheme].HandlerType = typeof(FirstPartyBearerHandler));
        builder.Services.AddOptions<JwtBearerOptions>(FirstPartyScheme).Configure<SigningKeyRing, IOptions<AuthOptions>>((o, ring, authOptions) =>
        {
            var a = authOptions.Value;
            // Our own tokens: a validated token is remembered until it expires (per key ring), see ValidatedTokenCache.
            Harden(o, new ValidatedTokenCache(ring, a.MaxTokenBytes), a.MaxTokenBytes);
            o.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = a.Issuer.AbsoluteUri.TrimEnd('/'),
                ValidAudience = a.Audience,
                ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
                ValidTypes = ["at+jwt"],
                IssuerSigningKeyResolver = (_, _, _, _) => ring.Current.ValidationKeys,
                ValidateIssuerSigningKey = true,
                ValidateIssuer = true,
                ValidateAudience = true,
                ValidateLifetime = true,
                RequireExpirationTime = true,
                RequireSignedTokens = true,
                ClockSkew = a.ClockSkew,
                NameClaimType = TokenClaims.Subject,
                RoleClaimType = "role",
            };
            o.Events = Events(checkRevocation: true);
        });

        // One JwtBearer scheme per configured external issuer, added when the options are first read.
        ExternalIssuerSchemes.AddTo(builder.Services);

        // Per client address: slows guessing of refresh tokens and ceremony abuse.
        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>().Configure<IOptions<AuthOptions>>((o, auth) =>
        {
            var perMinute = auth.Value.RateLimitPerMinute;
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(App.Api.Identity.TokenApi.RateLimitPolicy, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = perMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            o.OnRejected = (context, _) =>
            {
                context.HttpContext.Response.Headers.RetryAfter = "60";
                return ValueTask.CompletedTask;
            };
        });

        builder.Services.AddSingleton<IAuthorizationHandler, ScopeHandler>();
        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, LoggingResultHandler>();
        // The policies name no scheme: the bearer scheme is the default one, which the authentication middleware has
        // already run for the request. Naming it here would authenticate every request a second time.
        var policies = builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        foreach (var scope in Scopes.All)
        {
            policies.AddPolicy(scope, p => p.RequireAuthenticatedUser().AddRequirements(new ScopeRequirement(scope)));
        }

        return builder;
    }

    internal static void Harden(JwtBearerOptions o, JsonWebTokenHandler handler, int maxTokenBytes)
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

    internal static JwtBearerEvents Events(bool checkRevocation) => new()
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

    internal static void LogFailure(HttpContext context, string scheme, string reason)
    {
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("App.Api.Authentication");
        var path = context.Request.Path.Value ?? string.Empty;
        LogAuthenticationFailed(logger, scheme, reason, path);
    }

    /// <summary>Routes a token to the scheme of the issuer it claims; validation then checks that claim.</summary>
    private static string SelectScheme(HttpContext context)
    {
        var auth = context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value;
        if (auth.ExternalIssuers.Count == 0)
        {
            return FirstPartyScheme;
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length > auth.MaxTokenBytes + 7)
        {
            return FirstPartyScheme;
        }

        try
        {
            var iss = new JsonWebToken(header[7..].Trim()).Issuer?.TrimEnd('/');
            var external = auth.ExternalIssuers.FirstOrDefault(e => string.Equals(e.Authority?.AbsoluteUri.TrimEnd('/'), iss, StringComparison.Ordinal));
            return external is null ? FirstPartyScheme : ExternalIssuerSchemes.Prefix + external.Name;
        }
        catch (ArgumentException)
        {
            return FirstPartyScheme; // malformed: let the first-party scheme refuse it
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Authentication failed ({Scheme}: {Reason}) on {Path}")]
    private static partial void LogAuthenticationFailed(ILogger logger, string scheme, string reason, string path);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Authorization failed: {Subject} of tenant {TenantId} lacks {Requirement} for {Method} {Path}")]
    private static partial void LogForbidden(ILogger logger, string? subject, string? tenantId, string requirement, string method, string path);

    public sealed record ScopeRequirement(string Scope) : IAuthorizationRequirement;

    /// <summary>Passes when one of the <c>scope</c> claims (space-separated, RFC 9068) holds the scope.</summary>
    private sealed class ScopeHandler : AuthorizationHandler<ScopeRequirement>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
        {
            // A loop rather than FindAll and a split: this runs on every request.
            foreach (var identity in context.User.Identities)
            {
                foreach (var claim in identity.Claims)
                {
                    if (string.Equals(claim.Type, TokenClaims.Scope, StringComparison.OrdinalIgnoreCase) && Scopes.Includes(claim.Value, requirement.Scope))
                    {
                        context.Succeed(requirement);
                        return Task.CompletedTask;
                    }
                }
            }

            return Task.CompletedTask;
        }
    }

    /// <summary>Logs every refused authorization (never the token), then answers as the default handler does.</summary>
    private sealed class LoggingResultHandler(ILogger<LoggingResultHandler> logger) : IAuthorizationMiddlewareResultHandler
    {
        private readonly AuthorizationMiddlewareResultHandler _default = new();

        public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
        {
            if (authorizeResult.Forbidden)
            {
                var missing = authorizeResult.AuthorizationFailure?.FailedRequirements.OfType<ScopeRequirement>().Select(r => r.Scope).FirstOrDefault() ?? "a requirement";
                var subject = context.User.FindFirstValue(TokenClaims.Subject);
                var tenant = context.User.FindFirstValue(TokenClaims.Tenant);
                LogForbidden(logger, subject, tenant, missing, context.Request.Method, context.Request.Path);
            }

            return _default.HandleAsync(next, context, policy, authorizeResult);
        }
    }
}
