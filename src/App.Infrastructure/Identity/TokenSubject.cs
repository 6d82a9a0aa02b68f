namespace App.Infrastructure.Identity;

/// <summary>Who an access token is for.</summary>
public sealed record TokenSubject(string Subject, string TenantId, IReadOnlyList<string> Scopes, string SessionId);
