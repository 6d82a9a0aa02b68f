using System.Text.Json.Serialization;
using App.Application.Identity;
using App.Infrastructure.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace App.Api.Identity;

/// <summary>
/// <c>/.well-known/openid-configuration</c> and <c>/.well-known/jwks.json</c>: what another service needs to
/// validate our access tokens itself. The JWKS lists the signing key, the published next one, and retired keys
/// whose tokens may still be live.
/// </summary>
internal static class DiscoveryApi
{
    public static RouteGroupBuilder MapDiscovery(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/.well-known").WithTags("Discovery").AllowAnonymous();
        group.MapGet("/openid-configuration", Configuration).WithName("OpenIdConfiguration");
        group.MapGet("/jwks.json", Jwks).WithName("Jwks");
        return group;
    }

    public sealed record OpenIdConfiguration(
        [property: JsonPropertyName("issuer")] string Issuer,
        [property: JsonPropertyName("jwks_uri")] string JwksUri,
        [property: JsonPropertyName("token_endpoint")] string TokenEndpoint,
        [property: JsonPropertyName("grant_types_supported")] IReadOnlyList<string> GrantTypes,
        [property: JsonPropertyName("response_types_supported")] IReadOnlyList<string> ResponseTypes,
        [property: JsonPropertyName("subject_types_supported")] IReadOnlyList<string> SubjectTypes,
        [property: JsonPropertyName("id_token_signing_alg_values_supported")] IReadOnlyList<string> SigningAlgorithms,
        [property: JsonPropertyName("token_endpoint_auth_methods_supported")] IReadOnlyList<string> TokenEndpointAuthMethods,
        [property: JsonPropertyName("scopes_supported")] IReadOnlyList<string> ScopesSupported,
        [property: JsonPropertyName("claims_supported")] IReadOnlyList<string> ClaimsSupported);

    private static Ok<OpenIdConfiguration> Configuration(IOptions<AuthOptions> options, HttpContext context)
    {
        var issuer = options.Value.Issuer.AbsoluteUri.TrimEnd('/');
        context.Response.Headers.CacheControl = "public, max-age=3600";
        return TypedResults.Ok(new OpenIdConfiguration(
            issuer,
            issuer + "/.well-known/jwks.json",
            issuer + "/auth/refresh",
            ["refresh_token"],
            [],
            ["public"],
            ["ES256"],
            ["none"],
            Scopes.All,
            ["sub", "tenant_id", "scope", "sid", "iss", "aud", "exp", "iat", "nbf", "jti"]));
    }

    private static ContentHttpResult Jwks(SigningKeyRing ring, HttpContext context)
    {
        // Short enough that a validator sees a newly published key well before it signs (10 minutes ahead).
        context.Response.Headers.CacheControl = "public, max-age=300";
        return TypedResults.Text(ring.Current.Jwks, "application/jwk-set+json");
    }
}
