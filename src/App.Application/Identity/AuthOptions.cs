using Microsoft.Extensions.Options;

namespace App.Application.Identity;

/// <summary>The scopes that gate the API, one per endpoint group.</summary>
public static class Scopes
{
    public const string ChatInvoke = "chat:invoke";
    public const string JobsWrite = "jobs:write";
    public const string TracesRead = "traces:read";
    public const string TracesContent = "traces:content";
    public const string AuditRead = "audit:read";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [ChatInvoke, JobsWrite, TracesRead, TracesContent, AuditRead, Admin];

    /// <summary>The scopes among <paramref name="scopes"/> that this service does not know, in order.</summary>
    public static IReadOnlyList<string> Unknown(IEnumerable<string> scopes) => [.. scopes.Where(s => !All.Contains(s))];

    public static IReadOnlyList<string> Parse(string? value) =>
        string.IsNullOrWhiteSpace(value) ? [] : value.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Whether the space-separated <paramref name="value"/> holds <paramref name="scope"/>, as <see cref="Parse"/> would say, without splitting it.</summary>
    public static bool Includes(string? value, string scope)
    {
        ArgumentNullException.ThrowIfNull(scope);
        if (string.IsNullOrEmpty(value) || scope.Length == 0)
        {
            return false;
        }

        var rest = value.AsSpan();
        foreach (var range in rest.Split(' '))
        {
            if (rest[range].Trim().SequenceEqual(scope))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Claim names in our access tokens (RFC 9068 where one exists).</summary>
public static class TokenClaims
{
    public const string Tenant = "tenant_id";
    public const string Scope = "scope";
    public const string Session = "sid";
    public const string Subject = "sub";
}

public enum SignUpMode
{
    /// <summary>Anyone may register; the first user of a new tenant creates it.</summary>
    Open,

    /// <summary>Only tenants that already exist accept new users (created by an admin or seeded).</summary>
    InviteOnly,
}

/// <summary><c>Auth</c>: first-party tokens and the external issuers we accept.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>Our <c>iss</c>: the public base URL of this service.</summary>
    public Uri Issuer { get; init; } = new("http://127.0.0.1:5080");

    /// <summary>Our <c>aud</c>.</summary>
    public string Audience { get; init; } = "app-api";

    /// <summary>At most 5 minutes.</summary>
    public TimeSpan AccessTokenLifetime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>A session's absolute lifetime; refresh rotation never extends it.</summary>
    public TimeSpan RefreshTokenLifetime { get; init; } = TimeSpan.FromDays(14);

    /// <summary>
    /// How long after a refresh token was used its immediate reuse is taken as a lost response, not theft:
    /// the family survives and the caller gets a fresh pair (the unused successor is revoked).
    /// </summary>
    public TimeSpan RefreshReuseGrace { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a signing key signs before the next one takes over.</summary>
    public TimeSpan SigningKeyLifetime { get; init; } = TimeSpan.FromDays(30);

    /// <summary>At most 30 seconds.</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest token accepted, in bytes; larger ones are refused before parsing.</summary>
    public int MaxTokenBytes { get; init; } = 8 * 1024;

    public SignUpMode SignUp { get; init; } = SignUpMode.Open;

    /// <summary>Scopes a new user's tokens carry. The first user of a tenant also gets <c>admin</c>.</summary>
    public string DefaultScopes { get; init; } = "chat:invoke jobs:write traces:read";

    /// <summary>Requests per minute and client address on the session endpoints (<c>/auth/*</c>).</summary>
    public int RateLimitPerMinute { get; init; } = 30;

    /// <summary>
    /// Oldest an external issuer's metadata and keys may be when a token is validated with them: a key the issuer
    /// withdrew stops working within this time.
    /// </summary>
    public TimeSpan MetadataRefreshInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Least time between two fetches of one external issuer's metadata: a token under an unknown <c>kid</c> fetches at
    /// once unless the last fetch ended less than this ago, so forged kids cannot make us hammer the issuer.
    /// </summary>
    public TimeSpan UnknownKeyRefreshInterval { get; init; } = TimeSpan.FromSeconds(5);

    public List<ExternalIssuerOptions> ExternalIssuers { get; init; } = [];
}

/// <summary><c>Auth:ExternalIssuers:&lt;n&gt;</c>: an OIDC provider whose access tokens we accept.</summary>
public sealed class ExternalIssuerOptions
{
    public string Name { get; init; } = string.Empty;

    /// <summary>The issuer URL; metadata is read from <c>{Authority}/.well-known/openid-configuration</c>.</summary>
    public Uri? Authority { get; init; }

    public string Audience { get; init; } = string.Empty;

    /// <summary>The claim that names the tenant.</summary>
    public string TenantClaim { get; init; } = "tenant_id";

    /// <summary>The claim holding the scopes (a space-separated string or an array).</summary>
    public string ScopeClaim { get; init; } = "scope";

    /// <summary>Accepted <c>typ</c> header values; OIDC providers differ (<c>at+jwt</c>, <c>JWT</c>).</summary>
    public List<string> TokenTypes { get; init; } = ["at+jwt"];
}

public sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (!options.Issuer.IsAbsoluteUri)
        {
            errors.Add("Auth:Issuer must be an absolute URL.");
        }

        if (string.IsNullOrWhiteSpace(options.Audience))
        {
            errors.Add("Auth:Audience is required.");
        }

        if (options.AccessTokenLifetime <= TimeSpan.Zero || options.AccessTokenLifetime > TimeSpan.FromMinutes(5))
        {
            errors.Add("Auth:AccessTokenLifetime must be positive and at most 00:05:00.");
        }

        if (options.RefreshTokenLifetime < TimeSpan.FromMinutes(5))
        {
            errors.Add("Auth:RefreshTokenLifetime must be at least 00:05:00.");
        }

        if (options.RefreshReuseGrace < TimeSpan.Zero || options.RefreshReuseGrace > TimeSpan.FromMinutes(1))
        {
            errors.Add("Auth:RefreshReuseGrace must be between 0 and 00:01:00.");
        }

        if (options.SigningKeyLifetime < TimeSpan.FromMinutes(10))
        {
            errors.Add("Auth:SigningKeyLifetime must be at least 00:10:00.");
        }

        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > TimeSpan.FromSeconds(30))
        {
            errors.Add("Auth:ClockSkew must be between 0 and 00:00:30.");
        }

        if (options.MaxTokenBytes is < 512 or > 65536)
        {
            errors.Add("Auth:MaxTokenBytes must be between 512 and 65536.");
        }

        if (options.RateLimitPerMinute < 1)
        {
            errors.Add("Auth:RateLimitPerMinute must be at least 1.");
        }

        if (options.MetadataRefreshInterval < TimeSpan.FromSeconds(1) || options.MetadataRefreshInterval > TimeSpan.FromHours(1))
        {
            errors.Add("Auth:MetadataRefreshInterval must be between 00:00:01 and 01:00:00.");
        }

        if (options.UnknownKeyRefreshInterval < TimeSpan.FromSeconds(1) || options.UnknownKeyRefreshInterval > options.MetadataRefreshInterval)
        {
            errors.Add("Auth:UnknownKeyRefreshInterval must be at least 00:00:01 and at most Auth:MetadataRefreshInterval.");
        }

        foreach (var scope in Scopes.Unknown(Scopes.Parse(options.DefaultScopes)))
        {
            errors.Add($"Auth:DefaultScopes: '{scope}' is not a known scope.");
        }

        for (var i = 0; i < options.ExternalIssuers.Count; i++)
        {
            var e = options.ExternalIssuers[i];
            var key = $"Auth:ExternalIssuers:{i}";
            if (string.IsNullOrWhiteSpace(e.Name) || !e.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                errors.Add($"{key}:Name is required: letters, digits, '-' or '_'.");
            }

            if (e.Authority is not { IsAbsoluteUri: true })
            {
                errors.Add($"{key}:Authority must be an absolute URL.");
            }

            if (string.IsNullOrWhiteSpace(e.Audience))
            {
                errors.Add($"{key}:Audience is required.");
            }

            if (e.TokenTypes.Count == 0)
            {
                errors.Add($"{key}:TokenTypes must list at least one accepted typ.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
