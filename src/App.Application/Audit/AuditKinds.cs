namespace App.Application.Audit;

/// <summary>The kinds of security events recorded.</summary>
public static class AuditKinds
{
    public const string TenantCreated = "tenant.created";
    public const string SignedIn = "session.signed_in";
    public const string RefreshReuse = "session.refresh_reuse";
    public const string LoggedOut = "session.logged_out";
    public const string UserDisabled = "user.disabled";
    public const string InvitationCreated = "invitation.created";
    public const string InvitationRevoked = "invitation.revoked";
    public const string UserJoined = "user.joined";
    public const string ScopesChanged = "user.scopes_changed";
    public const string TracesExported = "traces.exported";

    /// <summary>A tenant's own budgets or rate limits (<c>Traffic:Tenants:&lt;id&gt;</c>) as they now are.</summary>
    public const string BudgetChanged = "budget.changed";

    /// <summary>The default budgets and rate limits, and digests of the price table and the tenants' own settings (in <see cref="SystemTenant"/>).</summary>
    public const string TrafficDefaultsChanged = "traffic.defaults_changed";
    public const string TraceContentRead = "trace.content_read";
    public const string SigningKeyCreated = "signing_key.created";
    public const string SigningKeyRetired = "signing_key.retired";
    public const string ContentErased = "tenant.content_erased";

    /// <summary>The chain of events that belong to no tenant (signing keys): <c>audit-verify --tenant _system</c>.</summary>
    public const string SystemTenant = "_system";
}
