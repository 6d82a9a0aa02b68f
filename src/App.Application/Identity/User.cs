namespace App.Application.Identity;

public sealed class User
{
    public Guid Id { get; init; }

    public required string TenantId { get; init; }

    /// <summary>Unique within the tenant; what the passkey ceremony shows as the account name.</summary>
    public required string UserName { get; init; }

    public required string DisplayName { get; set; }

    /// <summary>The WebAuthn user handle: random, not the id, so credentials reveal nothing about our keys.</summary>
    public required byte[] UserHandle { get; init; }

    /// <summary>Scopes granted to the user's access tokens.</summary>
    public required string Scopes { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Set when the user is disabled: every session ends and no new one starts.</summary>
    public DateTimeOffset? DisabledAt { get; set; }
}
