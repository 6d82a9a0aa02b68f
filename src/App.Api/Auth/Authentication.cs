using System.Threading.RateLimiting;
using App.Application.Identity;
using App.Infrastructure.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace App.Api.Auth;

/// <summary>
/// Bearer authentication for our own tokens and for each configured OIDC issuer, hardened beyond the defaults,
/// and one authorization policy per scope. docs/security.md lists each control with the test that proves it.
/// </summary>
internal static class Authentication
{
    public const string PolicyScheme = "Bearer";
    public const string FirstPartyScheme = "app";

    /// <summary>The per-client-address limit on the sign-in and session endpoints.</summary>
    public const string RateLimitPolicy = "auth";

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
            BearerHardening.Apply(o, new ValidatedTokenCache(ring, a.MaxTokenBytes), a.MaxTokenBytes);
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
            o.Events = BearerHardening.Events(checkRevocation: true);
        });

        // One JwtBearer scheme per configured external issuer, added when the options are first read.
        ExternalIssuerSchemes.AddTo(builder.Services);

        // Per client address: slows guessing of refresh tokens and ceremony abuse.
        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>().Configure<IOptions<AuthOptions>>((o, auth) =>
        {
            var perMinute = auth.Value.RateLimitPerMinute;
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(RateLimitPolicy, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = perMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            o.OnRejected = (context, _) =>
            {
                context.HttpContext.Response.Headers.RetryAfter = "60";
                return ValueTask.CompletedTask;
            };
        });

        builder.Services.AddSingleton<IAuthorizationHandler, ScopeHandler>();
        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, LoggingAuthorizationResultHandler>();
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
}
