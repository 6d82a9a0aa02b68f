using System.Security.Cryptography;
using System.Text.Json;

namespace App.Application.Audit;

/// <summary>
/// One entry of a tenant's append-only audit log. Entries form a hash chain: each stores the previous entry's
/// hash and its own hash over a canonical serialization of its fields and that previous hash, so changing,
/// removing or reordering any entry breaks every hash after it.
/// </summary>
public sealed class AuditEntry
{
    public required string TenantId { get; init; }

    /// <summary>1, 2, 3... per tenant, without gaps.</summary>
    public long Sequence { get; init; }

    public DateTimeOffset At { get; init; }

    public required string Kind { get; init; }

    /// <summary>Who did it (a user id, <c>system</c>); never a token.</summary>
    public required string Actor { get; init; }

    /// <summary>What it was done to (a user id, a trace id...), if anything.</summary>
    public string? Subject { get; init; }

    /// <summary>Details as JSON; never secrets or content.</summary>
    public string? Data { get; init; }

    public required byte[] PreviousHash { get; init; }

    public required byte[] Hash { get; init; }

    public static readonly byte[] Genesis = new byte[32];

    /// <summary>The hash of an entry: SHA-256 over a JSON array of its fields in a fixed order (version 1).</summary>
    public static byte[] ComputeHash(string tenantId, long sequence, DateTimeOffset at, string kind, string actor, string? subject, string? data, byte[] previousHash)
    {
        ArgumentNullException.ThrowIfNull(previousHash);
        var canonical = JsonSerializer.SerializeToUtf8Bytes(new object?[]
        {
            "audit/v1", tenantId, sequence, at.ToUnixTimeMilliseconds(), kind, actor, subject, data, Convert.ToHexStringLower(previousHash),
        });
        return SHA256.HashData(canonical);
    }

    public byte[] Recompute() => ComputeHash(TenantId, Sequence, At, Kind, Actor, Subject, Data, PreviousHash);
}

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

    /// <summary>The chain of events that belong to no tenant (signing keys): <c>audit-verify --tenant _system</c>.</summary>
    public const string SystemTenant = "_system";
}

/// <summary>The outcome of walking a chain.</summary>
/// <param name="Ok">True when every entry is intact and linked.</param>
/// <param name="Entries">Entries checked.</param>
/// <param name="Head">The last entry's hash (hex), or null for an empty log.</param>
/// <param name="BrokenAt">The first entry that does not verify.</param>
/// <param name="Reason">Why it does not.</param>
public sealed record AuditVerification(
    [property: System.Text.Json.Serialization.JsonPropertyName("ok")] bool Ok,
    [property: System.Text.Json.Serialization.JsonPropertyName("entries")] long Entries,
    [property: System.Text.Json.Serialization.JsonPropertyName("head")] string? Head,
    [property: System.Text.Json.Serialization.JsonPropertyName("broken_at")] long? BrokenAt,
    [property: System.Text.Json.Serialization.JsonPropertyName("reason")] string? Reason);

/// <summary>The port security events are recorded through.</summary>
public interface IAuditLog
{
    Task AppendAsync(string tenantId, string kind, string actor, string? subject, object? data, CancellationToken cancellationToken);
}
