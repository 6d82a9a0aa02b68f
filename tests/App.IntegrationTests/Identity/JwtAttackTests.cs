using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using App.Api.Auth;
using App.Application.Identity;
using App.Infrastructure.Identity;
using App.Testing;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace App.IntegrationTests.Identity;

/// <summary>
/// The JWT attack list against our own bearer validation, one test each. Every forged token is otherwise
/// well formed and carries the right claims, so the one thing wrong with it is what gets it refused.
/// </summary>
public class JwtAttackTests : GatewayTest
{
    private const string Issuer = "http://localhost";
    private const string Audience = "app-api";

    private (ECDsa Key, string Kid) Signing
    {
        get
        {
            var credentials = Factory.Services.GetRequiredService<SigningKeyRing>().Current.Signing;
            return (((ECDsaSecurityKey)credentials.Key).ECDsa, credentials.Key.KeyId);
        }
    }

    private Dictionary<string, object> Header(string alg = "ES256", string typ = "at+jwt", string? kid = null) => new()
    {
        ["alg"] = alg,
        ["typ"] = typ,
        ["kid"] = kid ?? Signing.Kid,
    };

    private Dictionary<string, object> Claims(string scope = Scopes.ChatInvoke) => TokenForge.Claims(Issuer, Audience, "mallory", Tenant, scope);

    private async Task<HttpResponseMessage> CallAsync(string token, string path = "/v1/models")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await Factory.CreateClient().SendAsync(request);
    }

    private async Task AssertRefusedAsync(string token, HttpStatusCode expected = HttpStatusCode.Unauthorized)
    {
        using var response = await CallAsync(token);
        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.Unauthorized)
        {
            // No error details for an attacker to learn from.
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
        }

        await ReadAsync(response);
    }

    [Fact]
    public async Task AWellFormedTokenIsAccepted()
    {
        using var response = await CallAsync(TokenForge.Build(Header(), Claims(), TokenForge.Es256(Signing.Key)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public Task AlgNoneIsRefused() =>
        AssertRefusedAsync(TokenForge.Build(Header(alg: "none"), Claims()));

    [Fact]
    public async Task Hs256SignedWithTheIssuersPublicKeyIsRefused()
    {
        // The classic key confusion: the public key (as published in the JWKS) used as an HMAC secret.
        var jwks = await Factory.CreateClient().GetStringAsync("/.well-known/jwks.json");
        var publicKeyPem = Signing.Key.ExportSubjectPublicKeyInfoPem();
        await AssertRefusedAsync(TokenForge.Build(Header(alg: "HS256"), Claims(), TokenForge.Hs256(Encoding.ASCII.GetBytes(publicKeyPem))));
        await AssertRefusedAsync(TokenForge.Build(Header(alg: "HS256"), Claims(), TokenForge.Hs256(Encoding.UTF8.GetBytes(jwks))));
    }

    [Fact]
    public async Task AnUnknownKidIsRefused()
    {
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await AssertRefusedAsync(TokenForge.Build(Header(kid: "not-a-key-of-ours"), Claims(), TokenForge.Es256(other)));
    }

    [Fact]
    public async Task AKnownKidWithAnotherKeysSignatureIsRefused()
    {
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await AssertRefusedAsync(TokenForge.Build(Header(), Claims(), TokenForge.Es256(other)));
    }

    [Fact]
    public async Task AnRsaTokenIsRefusedByTheFirstPartyScheme()
    {
        using var rsa = RSA.Create(2048);
        await AssertRefusedAsync(TokenForge.Build(Header(alg: "RS256"), Claims(), TokenForge.Rs256(rsa)));
    }

    [Fact]
    public Task AnExpiredTokenIsRefused() =>
        AssertRefusedAsync(TokenForge.Build(Header(), TokenForge.Claims(Issuer, Audience, "mallory", Tenant, Scopes.ChatInvoke, DateTimeOffset.UtcNow.AddMinutes(-10), TimeSpan.FromMinutes(5)), TokenForge.Es256(Signing.Key)));

    [Fact]
    public async Task ClockSkewIsAtMostThirtySeconds()
    {
        // Expired 20 s ago: inside the skew. Expired 45 s ago: outside.
        using var inside = await CallAsync(TokenForge.Build(Header(), TokenForge.Claims(Issuer, Audience, "m", Tenant, Scopes.ChatInvoke, DateTimeOffset.UtcNow.AddSeconds(-80), TimeSpan.FromMinutes(1)), TokenForge.Es256(Signing.Key)));
        Assert.Equal(HttpStatusCode.OK, inside.StatusCode);
        await AssertRefusedAsync(TokenForge.Build(Header(), TokenForge.Claims(Issuer, Audience, "m", Tenant, Scopes.ChatInvoke, DateTimeOffset.UtcNow.AddSeconds(-105), TimeSpan.FromMinutes(1)), TokenForge.Es256(Signing.Key)));
    }

    [Fact]
    public async Task ANotYetValidTokenIsRefused()
    {
        var claims = Claims();
        var later = DateTimeOffset.UtcNow.AddMinutes(5);
        claims["nbf"] = later.ToUnixTimeSeconds();
        claims["iat"] = later.ToUnixTimeSeconds();
        claims["exp"] = later.AddMinutes(5).ToUnixTimeSeconds();
        await AssertRefusedAsync(TokenForge.Build(Header(), claims, TokenForge.Es256(Signing.Key)));
    }

    [Fact]
    public Task AWrongIssuerIsRefused() =>
        AssertRefusedAsync(TokenForge.Build(Header(), TokenForge.Claims("https://evil.example", Audience, "m", Tenant, Scopes.ChatInvoke), TokenForge.Es256(Signing.Key)));

    [Fact]
    public Task AWrongAudienceIsRefused() =>
        AssertRefusedAsync(TokenForge.Build(Header(), TokenForge.Claims(Issuer, "another-api", "m", Tenant, Scopes.ChatInvoke), TokenForge.Es256(Signing.Key)));

    [Theory]
    [InlineData("JWT")]
    [InlineData("id_token+jwt")]
    [InlineData("")]
    public Task AWrongTypeSuchAsAnIdTokenIsRefused(string typ) =>
        AssertRefusedAsync(TokenForge.Build(Header(typ: typ), Claims(), TokenForge.Es256(Signing.Key)));

    [Fact]
    public Task AMissingExpiryIsRefused()
    {
        var claims = Claims();
        claims.Remove("exp");
        return AssertRefusedAsync(TokenForge.Build(Header(), claims, TokenForge.Es256(Signing.Key)));
    }

    [Fact]
    public Task AValidTokenWithoutTheScopeIs403() =>
        AssertRefusedAsync(TokenForge.Build(Header(), Claims(scope: Scopes.TracesRead), TokenForge.Es256(Signing.Key)), HttpStatusCode.Forbidden);

    [Fact]
    public async Task ATokenInTheQueryStringIsRefusedEvenWithAValidHeader()
    {
        var token = TokenForge.Build(Header(), Claims(), TokenForge.Es256(Signing.Key));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models?access_token=" + token);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await Factory.CreateClient().SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);

        using var queryOnly = await Factory.CreateClient().GetAsync("/v1/models?access_token=" + token);
        Assert.Equal(HttpStatusCode.Unauthorized, queryOnly.StatusCode);
    }

    [Fact]
    public async Task ARememberedTokenInTheQueryStringIsStillRefused()
    {
        // The token is validated (and remembered) first, so the second call takes the shortcut for remembered
        // tokens, which must still refuse a token in the URL.
        var token = TokenForge.Build(Header(), Claims(), TokenForge.Es256(Signing.Key));
        using (var first = await CallAsync(token))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var shortcuts = TokenCache.Shortcuts;
        using (var again = await CallAsync(token))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        Assert.Equal(shortcuts + 1, TokenCache.Shortcuts);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models?access_token=" + token);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await Factory.CreateClient().SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task ARememberedTokenIsGivenWhatJwtBearerGives()
    {
        // The same token authenticated twice: the first time by JwtBearer's own path (which remembers it), the
        // second by the shortcut. Both must hand the request the same principal, token and ticket properties.
        var token = TokenForge.Build(Header(), Claims(), TokenForge.Es256(Signing.Key));
        var first = await AuthenticateAsync(token);
        var shortcuts = TokenCache.Shortcuts;
        var second = await AuthenticateAsync(token);

        Assert.Equal(shortcuts + 1, TokenCache.Shortcuts);
        Assert.True(first.Succeeded);
        Assert.True(second.Succeeded);
        Assert.Equal(first.Ticket!.AuthenticationScheme, second.Ticket!.AuthenticationScheme);
        Assert.Equal(Describe(first.Principal!), Describe(second.Principal!));
        Assert.Equal(first.Properties!.Items.OrderBy(i => i.Key), second.Properties!.Items.OrderBy(i => i.Key));
        Assert.NotNull(second.Properties.ExpiresUtc);
        Assert.NotSame(first.Properties, second.Properties);

        // A header JwtBearer would not read as a bearer token is not taken by the shortcut either.
        shortcuts = TokenCache.Shortcuts;
        Assert.False((await AuthenticateAsync(token, scheme: "Basic ")).Succeeded);
        Assert.True((await AuthenticateAsync(token, scheme: "bearer  ")).Succeeded);
        Assert.Equal(shortcuts + 1, TokenCache.Shortcuts);

        static string Describe(ClaimsPrincipal p) =>
            string.Join('|', p.Identities.Select(i => $"{i.AuthenticationType}:{i.IsAuthenticated}:{i.Name}:" + string.Join(',', i.Claims.Select(c => c.Type + "=" + c.Value))));
    }

    [Fact]
    public async Task ClaimsKeepTheirJwtNames()
    {
        // Remapped, "sub" would become ClaimTypes.NameIdentifier and "scope" a long URI: the subject and scopes the
        // endpoints read would be gone. Both paths are checked: JwtBearer's own, then the remembered token's.
        var token = TokenForge.Build(Header(), Claims(Scopes.ChatInvoke + " " + Scopes.TracesRead), TokenForge.Es256(Signing.Key));
        foreach (var result in new[] { await AuthenticateAsync(token), await AuthenticateAsync(token) })
        {
            Assert.True(result.Succeeded);
            var claims = result.Principal!.Claims.ToList();
            Assert.Equal("mallory", Assert.Single(claims, c => c.Type == "sub").Value);
            Assert.Equal(Tenant, Assert.Single(claims, c => c.Type == TokenClaims.Tenant).Value);
            Assert.Equal("chat:invoke traces:read", Assert.Single(claims, c => c.Type == "scope").Value);
            Assert.DoesNotContain(claims, c => c.Type.StartsWith("http", StringComparison.Ordinal));
            Assert.Equal("mallory", result.Principal.Identity!.Name);
        }

        using var me = await CallAsync(token, "/auth/me");
        var caller = await me.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("mallory", caller.GetProperty("subject").GetString());
        Assert.Equal(["chat:invoke", "traces:read"], caller.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
    }

    private ValidatedTokenCache TokenCache =>
        Factory.Services.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>().Get(Authentication.FirstPartyScheme).TokenHandlers.OfType<ValidatedTokenCache>().Single();

    private async Task<AuthenticateResult> AuthenticateAsync(string token, string scheme = "Bearer ")
    {
        await using var scope = Factory.Services.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Request.Headers.Authorization = scheme + token;
        return await scope.ServiceProvider.GetRequiredService<IAuthenticationService>().AuthenticateAsync(context, Authentication.FirstPartyScheme);
    }

    [Theory]
    [InlineData("not-a-jwt")]
    [InlineData("a.b.c")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9..")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0")]
    [InlineData("....")]
    public Task MalformedTokensAreRefused(string token) => AssertRefusedAsync(token);

    [Fact]
    public Task AnOversizedTokenIsRefused()
    {
        var claims = Claims();
        claims["padding"] = new string('x', 20_000);
        return AssertRefusedAsync(TokenForge.Build(Header(), claims, TokenForge.Es256(Signing.Key)));
    }

    [Fact]
    public async Task NoTokenIs401AndHealthAndDiscoveryStayOpen()
    {
        var anonymous = Factory.CreateClient();
        using var chat = await anonymous.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, chat.StatusCode);
        await ReadAsync(chat);
        foreach (var open in (string[])["/health/live", "/health/ready", "/.well-known/jwks.json", "/.well-known/openid-configuration"])
        {
            using var response = await anonymous.GetAsync(open);
            Assert.True(response.IsSuccessStatusCode, $"{open} answered {(int)response.StatusCode}");
        }

        using var openApi = await anonymous.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.Unauthorized, openApi.StatusCode); // public in Development only
    }
}
