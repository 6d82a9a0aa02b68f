using System.Security.Claims;
using App.Application.Identity;
using App.Infrastructure.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Tokens;

namespace App.Api.Auth;

/// <summary>
/// One JwtBearer scheme per configured external OIDC issuer (<c>Auth:ExternalIssuers</c>), held to the same rules as
/// our own tokens, with the issuer's tenant and scope claims mapped onto ours.
/// </summary>
internal sealed class ExternalIssuerSchemes(
    IOptions<AuthOptions> auth,
    IHostEnvironment environment,
    IHttpClientFactory http,
    TimeProvider time,
    ILoggerFactory loggerFactory) : IConfigureOptions<AuthenticationOptions>, IConfigureNamedOptions<JwtBearerOptions>
{
    /// <summary>What an external issuer's scheme name starts with; the rest is the issuer's configured name.</summary>
    public const string Prefix = "ext:";

    /// <summary>Asymmetric only: never <c>none</c>, never an HMAC that a public key could be abused as.</summary>
    private static readonly string[] AllowedAlgorithms = [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.EcdsaSha256];

    public static void AddTo(IServiceCollection services)
    {
        services.AddSingleton<IConfigureOptions<AuthenticationOptions>, ExternalIssuerSchemes>();
        services.AddSingleton<IConfigureOptions<JwtBearerOptions>, ExternalIssuerSchemes>();
        // Runs after JwtBearer's own post-configuration, which would create IdentityModel's manager for a scheme without one.
        services.AddSingleton<IPostConfigureOptions<JwtBearerOptions>, NoLastKnownGoodKeys>();
        services.AddSingleton<IValidateOptions<AuthOptions>, HttpsAuthorities>();
        services.AddHttpClient(IssuerMetadataManager.HttpClientName, c =>
        {
            c.Timeout = IssuerMetadataManager.FetchTimeout;
            // Metadata documents are small: a huge answer is refused rather than buffered.
            c.MaxResponseContentBufferSize = 1024 * 1024;
        }).RemoveAllLoggers(); // the manager reports failed fetches itself, aggregated, rather than lines per request
    }

    public void Configure(AuthenticationOptions options)
    {
        foreach (var issuer in auth.Value.ExternalIssuers)
        {
            options.AddScheme<JwtBearerHandler>(Prefix + issuer.Name, issuer.Name);
        }

        // With no external issuer every bearer token is ours: the policy scheme would only forward each request
        // to the first-party scheme (one more handler and one more authentication per request), so that is the
        // default instead.
        if (auth.Value.ExternalIssuers.Count == 0)
        {
            options.DefaultScheme = Authentication.FirstPartyScheme;
        }
    }

    public void Configure(JwtBearerOptions options)
    {
    }

    public void Configure(string? name, JwtBearerOptions o)
    {
        var a = auth.Value;
        var issuer = a.ExternalIssuers.FirstOrDefault(e => Prefix + e.Name == name);
        if (issuer is null)
        {
            return;
        }

        BearerHardening.Apply(o, new JsonWebTokenHandler(), a.MaxTokenBytes);
        o.Authority = issuer.Authority!.AbsoluteUri.TrimEnd('/');
        o.MetadataAddress = o.Authority + "/.well-known/openid-configuration";
        o.Audience = issuer.Audience;
        // Metadata over plain HTTP only for local development and tests.
        var requireHttps = !HttpsAuthorities.AllowsHttpMetadata(environment);
        o.RequireHttpsMetadata = requireHttps;
        // Ours rather than IdentityModel's, which would follow the issuer's key rotation only within minutes or hours.
        o.ConfigurationManager = new IssuerMetadataManager(
            issuer.Name,
            o.MetadataAddress,
            () => new HttpDocumentRetriever(http.CreateClient(IssuerMetadataManager.HttpClientName)) { RequireHttps = requireHttps },
            a.MetadataRefreshInterval,
            a.UnknownKeyRefreshInterval,
            time,
            loggerFactory.CreateLogger<IssuerMetadataManager>());
        o.TokenValidationParameters = new TokenValidationParameters
        {
            ValidIssuer = issuer.Authority.AbsoluteUri.TrimEnd('/'),
            ValidAudience = issuer.Audience,
            ValidAlgorithms = AllowedAlgorithms,
            ValidTypes = issuer.TokenTypes,
            ValidateIssuerSigningKey = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = a.ClockSkew,
            NameClaimType = TokenClaims.Subject,
            RoleClaimType = "role",
        };
        var events = BearerHardening.Events(checkRevocation: false);
        var validated = events.OnTokenValidated;
        events.OnTokenValidated = async context =>
        {
            Normalize(context, issuer);
            await validated(context);
        };
        o.Events = events;
    }

    /// <summary>Maps an external issuer's tenant and scope claims onto ours, refusing a tenant or subject we could not store.</summary>
    private static void Normalize(TokenValidatedContext context, ExternalIssuerOptions issuer)
    {
        var principal = context.Principal!;
        var identity = (ClaimsIdentity)principal.Identity!;
        if (Refusal(principal, issuer) is { } reason)
        {
            context.Fail($"The token's {reason}.");
            BearerHardening.LogFailure(context.HttpContext, context.Scheme.Name, reason);
            return;
        }

        var tenant = principal.FindFirstValue(issuer.TenantClaim)!;

        if (issuer.TenantClaim != TokenClaims.Tenant)
        {
            foreach (var c in identity.FindAll(TokenClaims.Tenant).ToList())
            {
                identity.RemoveClaim(c);
            }

            identity.AddClaim(new Claim(TokenClaims.Tenant, tenant));
        }

        if (issuer.ScopeClaim != TokenClaims.Scope)
        {
            foreach (var c in identity.FindAll(TokenClaims.Scope).ToList())
            {
                identity.RemoveClaim(c);
            }

            foreach (var c in principal.FindAll(issuer.ScopeClaim).ToList())
            {
                identity.AddClaim(new Claim(TokenClaims.Scope, c.Value));
            }
        }
    }

    /// <summary>Why the token's tenant or subject cannot be taken, or null if they can; never quotes a value, since it is logged.</summary>
    private static string? Refusal(ClaimsPrincipal principal, ExternalIssuerOptions issuer)
    {
        var tenants = principal.FindAll(issuer.TenantClaim).ToList();
        if (tenants.Count != 1)
        {
            return $"tenant claim '{issuer.TenantClaim}' {(tenants.Count == 0 ? "is missing" : "appears more than once")}";
        }

        if (ExternalClaims.TenantProblem(tenants[0].Value) is { } tenantProblem)
        {
            return $"tenant claim '{issuer.TenantClaim}' {tenantProblem}";
        }

        var subjects = principal.FindAll(TokenClaims.Subject).ToList();
        if (subjects.Count > 1)
        {
            return "subject claim 'sub' appears more than once";
        }

        return subjects.Count == 1 && ExternalClaims.SubjectProblem(subjects[0].Value) is { } subjectProblem
            ? $"subject claim 'sub' {subjectProblem}"
            : null;
    }

    /// <summary>
    /// IdentityModel retries a failed validation with the "last known good" metadata for up to an hour, so a key
    /// the issuer has withdrawn (rotated out after a compromise, say) would keep working. We trust what the issuer
    /// publishes now: a withdrawn kid fails once the metadata has been re-read.
    /// </summary>
    private sealed class NoLastKnownGoodKeys : IPostConfigureOptions<JwtBearerOptions>
    {
        public void PostConfigure(string? name, JwtBearerOptions options)
        {
            if (options.ConfigurationManager is BaseConfigurationManager manager)
            {
                manager.UseLastKnownGoodConfiguration = false;
            }
        }
    }
}
