using System.Security.Cryptography;
using App.FakeUpstream;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.Tokens;

namespace App.Testing;

/// <summary>
/// A real OIDC issuer on loopback: discovery document and JWKS over HTTP, RSA keys that can be rotated during a
/// test, and a token factory. The gateway fetches its metadata over the network as it would in production.
/// </summary>
public sealed class FakeOidcIssuer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<(string Kid, RSA Key)> _published = [];
    private readonly Lock _lock = new();
    private int _jwksFetches;

    private FakeOidcIssuer(WebApplication app)
    {
        _app = app;
    }

    public Uri Authority { get; private set; } = null!;

    public (string Kid, RSA Key) Current { get; private set; }

    public int JwksFetches => Volatile.Read(ref _jwksFetches);

    /// <summary>
    /// The gateway's settings to accept this issuer's tokens as <c>corp</c>: audience <c>gateway</c>, the tenant in
    /// <c>org</c>, scopes in <c>scp</c>, <c>typ</c> either <c>JWT</c> or <c>at+jwt</c>.
    /// </summary>
    public Settings Configure(Settings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings
            .With("Auth:ExternalIssuers:0:Name", "corp")
            .With("Auth:ExternalIssuers:0:Authority", Authority.ToString())
            .With("Auth:ExternalIssuers:0:Audience", "gateway")
            .With("Auth:ExternalIssuers:0:TenantClaim", "org")
            .With("Auth:ExternalIssuers:0:ScopeClaim", "scp")
            .With("Auth:ExternalIssuers:0:TokenTypes:0", "JWT")
            .With("Auth:ExternalIssuers:0:TokenTypes:1", "at+jwt");
    }

    public static async Task<FakeOidcIssuer> StartAsync()
    {
        var app = LoopbackHost.Create();
        var issuer = new FakeOidcIssuer(app);
        issuer.Rotate(keepPrevious: false);
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = issuer.Authority.AbsoluteUri.TrimEnd('/'),
            ["jwks_uri"] = issuer.Authority.AbsoluteUri.TrimEnd('/') + "/jwks",
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        app.MapGet("/jwks", () =>
        {
            Interlocked.Increment(ref issuer._jwksFetches);
            lock (issuer._lock)
            {
                return Results.Json(new { keys = issuer._published.Select(k => Jwk(k.Kid, k.Key)).ToList() });
            }
        });
        var address = await LoopbackHost.StartAsync(app);
        issuer.Authority = new Uri(address.TrimEnd('/') + "/");
        return issuer;
    }

    /// <summary>Publishes a new signing key; the previous one stays published or is withdrawn.</summary>
    public void Rotate(bool keepPrevious)
    {
        lock (_lock)
        {
            if (!keepPrevious)
            {
                _published.Clear();
            }

            Current = ("k-" + Guid.NewGuid().ToString("N")[..8], RSA.Create(2048));
            _published.Add(Current);
        }
    }

    public string Token(string audience, Dictionary<string, object> claims, (string Kid, RSA Key)? key = null, string typ = "JWT")
    {
        var (kid, rsa) = key ?? Current;
        var payload = new Dictionary<string, object>(claims)
        {
            ["iss"] = Authority.AbsoluteUri.TrimEnd('/'),
            ["aud"] = audience,
        };
        var now = DateTimeOffset.UtcNow;
        payload.TryAdd("iat", now.ToUnixTimeSeconds());
        payload.TryAdd("nbf", now.ToUnixTimeSeconds());
        payload.TryAdd("exp", now.AddMinutes(5).ToUnixTimeSeconds());
        return TokenForge.Build(new Dictionary<string, object> { ["alg"] = "RS256", ["typ"] = typ, ["kid"] = kid }, payload, TokenForge.Rs256(rsa));
    }

    private static Dictionary<string, string> Jwk(string kid, RSA key)
    {
        var p = key.ExportParameters(false);
        return new Dictionary<string, string>
        {
            ["kty"] = "RSA",
            ["kid"] = kid,
            ["use"] = "sig",
            ["alg"] = "RS256",
            ["n"] = Base64UrlEncoder.Encode(p.Modulus),
            ["e"] = Base64UrlEncoder.Encode(p.Exponent),
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
