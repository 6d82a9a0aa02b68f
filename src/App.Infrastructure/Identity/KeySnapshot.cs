using Microsoft.IdentityModel.Tokens;

namespace App.Infrastructure.Identity;

/// <param name="Signing">What new tokens are signed with.</param>
/// <param name="ValidationKeys">Every key whose tokens may still be live (published in the JWKS).</param>
/// <param name="Jwks">The JWKS document.</param>
/// <param name="LoadedAt">When the ring was read.</param>
public sealed record KeySnapshot(SigningCredentials Signing, IReadOnlyList<SecurityKey> ValidationKeys, string Jwks, DateTimeOffset LoadedAt);
