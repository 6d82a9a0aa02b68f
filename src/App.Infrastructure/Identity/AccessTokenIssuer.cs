using System.Security.Cryptography;
using App.Application.Identity;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace App.Infrastructure.Identity;

/// <summary>
/// Issues our access tokens: JWT, ES256, header <c>typ: at+jwt</c> and <c>kid</c> (RFC 9068), with <c>iss</c>,
/// <c>aud</c>, <c>sub</c>, <c>tenant_id</c>, <c>scope</c>, <c>sid</c>, <c>jti</c>, and a lifetime of at most 5 minutes.
/// </summary>
public sealed class AccessTokenIssuer(SigningKeyRing ring, IOptions<AuthOptions> options, TimeProvider time)
{
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };

    public (string Token, DateTimeOffset ExpiresAt) Issue(TokenSubject subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        var auth = options.Value;
        var now = time.GetUtcNow();
        var expires = now + auth.AccessTokenLifetime;
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = auth.Issuer.AbsoluteUri.TrimEnd('/'),
            Audience = auth.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            TokenType = "at+jwt",
            SigningCredentials = ring.Current.Signing,
            Claims = new Dictionary<string, object>
            {
                [TokenClaims.Subject] = subject.Subject,
                [TokenClaims.Tenant] = subject.TenantId,
                [TokenClaims.Scope] = string.Join(' ', subject.Scopes),
                [TokenClaims.Session] = subject.SessionId,
                ["jti"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
                ["client_id"] = auth.Audience,
            },
        });
        return (token, expires);
    }
}
