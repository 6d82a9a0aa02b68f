namespace App.Infrastructure.Identity;

/// <summary>What a client gets when a session starts or is refreshed.</summary>
public sealed record TokenPair(string AccessToken, DateTimeOffset AccessTokenExpiresAt, string RefreshToken, IReadOnlyList<string> Scopes, string TenantId, Guid UserId);
