namespace App.Application.Identity;

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
