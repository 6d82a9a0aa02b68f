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
