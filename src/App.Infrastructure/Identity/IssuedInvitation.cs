namespace App.Infrastructure.Identity;

/// <summary>An invitation as its creator sees it, once: the code is shown here and never stored.</summary>
public sealed record IssuedInvitation(Guid Id, string Code, string TenantId, IReadOnlyList<string> Scopes, DateTimeOffset ExpiresAt);
