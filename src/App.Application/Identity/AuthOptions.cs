namespace App.Application.Identity;

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
