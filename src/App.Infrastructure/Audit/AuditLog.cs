using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using App.Application.Audit;
using App.Infrastructure.Persistence;
using App.Infrastructure.Security;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Audit;

/// <summary>
/// The tenant audit logs: appends are serialized per tenant (an advisory lock) and chained by hash; the table is
/// append-only for the service (grants and a trigger) and row-secured per tenant. Periodically the head of each
/// chain this instance appended to is written as a checkpoint, MAC-signed with a key derived from the
/// key-encryption key, to a file and the log: a superuser who rewrites or truncates a chain in the database
/// cannot make it match checkpoints already written out.
/// </summary>
public sealed partial class AuditLog(
    TenantData tenantData,
    KeyEncryption encryption,
    IOptions<AuditOptions> options,
    TimeProvider time,
    ILogger<AuditLog> logger) : IAuditLog
{
    private const string CheckpointPurpose = "audit-checkpoint/v1";
    private readonly ConcurrentDictionary<string, byte> _touched = new(StringComparer.Ordinal);

    public Task AppendAsync(string tenantId, string kind, string actor, string? subject, object? data, CancellationToken cancellationToken) =>
        AppendAsync(tenantId, kind, actor, subject, data, onlyIfChanged: false, cancellationToken);

    /// <summary>
    /// Appends the event unless the last event of its kind in the tenant's chain carries the same data: for
    /// settings that every instance records as it starts, so a change is recorded once however many see it. The
    /// check and the append hold the chain's lock together. True when appended.
    /// </summary>
    public Task<bool> AppendIfChangedAsync(string tenantId, string kind, string actor, object data, CancellationToken cancellationToken) =>
        AppendAsync(tenantId, kind, actor, null, data, onlyIfChanged: true, cancellationToken);

    /// <summary>The data of the last event of <paramref name="kind"/> in the tenant's chain, or null if there is none.</summary>
    public Task<string?> LastDataAsync(string tenantId, string kind, CancellationToken cancellationToken) =>
        tenantData.ReadAsync(tenantId, db => LastData(db, kind, cancellationToken), cancellationToken);

    private static Task<string?> LastData(AppDbContext db, string kind, CancellationToken cancellationToken) =>
        db.AuditEntries.Where(a => a.Kind == kind).OrderByDescending(a => a.Sequence).Select(a => a.Data).FirstOrDefaultAsync(cancellationToken);

    private async Task<bool> AppendAsync(string tenantId, string kind, string actor, string? subject, object? data, bool onlyIfChanged, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        var appended = false;
        await tenantData.WriteAsync(tenantId, async db => appended = await AppendWithinAsync(db, kind, actor, subject, data, onlyIfChanged, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        return appended;
    }

    /// <summary>
    /// Appends the event inside the caller's unit of work on the tenant (<paramref name="db"/>, bound and in its
    /// transaction), so the event commits or rolls back with the change it records. True when appended.
    /// </summary>
    public async Task<bool> AppendWithinAsync(AppDbContext db, string kind, string actor, string? subject, object? data, bool onlyIfChanged, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var tenantId = db.TenantId ?? throw new InvalidOperationException("The context is bound to no tenant.");
        var json = data is null ? null : JsonSerializer.Serialize(data);
        // One append at a time per tenant: the chain has no forks.
        await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtext({"audit:" + tenantId}))", cancellationToken).ConfigureAwait(false);
        if (onlyIfChanged && await LastData(db, kind, cancellationToken).ConfigureAwait(false) == json)
        {
            return false;
        }

        var last = await db.AuditEntries.OrderByDescending(a => a.Sequence).Select(a => new { a.Sequence, a.Hash })
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        // Millisecond precision: what the hash covers is exactly what the database keeps.
        var at = DateTimeOffset.FromUnixTimeMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds());
        var sequence = (last?.Sequence ?? 0) + 1;
        var previous = last?.Hash ?? AuditEntry.Genesis;
        db.AuditEntries.Add(new AuditEntry
        {
            TenantId = tenantId,
            Sequence = sequence,
            At = at,
            Kind = kind,
            Actor = actor,
            Subject = subject,
            Data = json,
            PreviousHash = previous,
            Hash = AuditEntry.ComputeHash(tenantId, sequence, at, kind, actor, subject, json, previous),
        });
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        _touched[tenantId] = 0;
        return true;
    }

    /// <summary>The data of the last event of <paramref name="kind"/> in the chain of the tenant <paramref name="db"/> is bound to.</summary>
    public static Task<string?> LastDataWithinAsync(AppDbContext db, string kind, CancellationToken cancellationToken) => LastData(db, kind, cancellationToken);

    /// <summary>
    /// Walks the tenant's chain from the first entry (on a standby when there is one: a chain a little behind is still a
    /// chain); reports the first that does not verify.
    /// </summary>
    public Task<AuditVerification> VerifyAsync(string tenantId, CancellationToken cancellationToken) => WalkAsync(tenantId, lagging: true, cancellationToken);

    private Task<AuditVerification> WalkAsync(string tenantId, bool lagging, CancellationToken cancellationToken)
    {
        async Task<AuditVerification> Walk(AppDbContext db)
        {
            var previous = AuditEntry.Genesis;
            long count = 0;
            await foreach (var entry in db.AuditEntries.AsNoTracking().OrderBy(a => a.Sequence).AsAsyncEnumerable().WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                count++;
                var reason = entry.Sequence != count ? $"entry {count} is missing (next is {entry.Sequence})"
                    : !entry.PreviousHash.AsSpan().SequenceEqual(previous) ? "its previous-hash does not match the entry before it"
                    : !entry.Recompute().AsSpan().SequenceEqual(entry.Hash) ? "its content does not match its hash"
                    : null;
                if (reason is not null)
                {
                    return new AuditVerification(false, count - 1, Convert.ToHexStringLower(previous), Math.Min(count, entry.Sequence), reason);
                }

                previous = entry.Hash;
            }

            return new AuditVerification(true, count, count == 0 ? null : Convert.ToHexStringLower(previous), null, null);
        }

        return lagging ? tenantData.ReadLaggingAsync(tenantId, Walk, cancellationToken) : tenantData.ReadAsync(tenantId, Walk, cancellationToken);
    }

    /// <summary>The chain, then each checkpoint: its signature, and the entry it names still there with that hash.</summary>
    public async Task<AuditVerification> VerifyAgainstAsync(string tenantId, IEnumerable<AuditCheckpoint> checkpoints, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        // On the primary: a checkpoint may name an entry a standby has not replayed yet, which is no break.
        var chain = await WalkAsync(tenantId, lagging: false, cancellationToken).ConfigureAwait(false);
        if (!chain.Ok)
        {
            return chain;
        }

        var hashes = await tenantData.ReadAsync(tenantId, db => db.AuditEntries.AsNoTracking().ToDictionaryAsync(a => a.Sequence, a => a.Hash, cancellationToken), cancellationToken).ConfigureAwait(false);
        foreach (var checkpoint in checkpoints.Where(c => c.Tenant == tenantId).OrderBy(c => c.Sequence))
        {
            if (!Verify(checkpoint))
            {
                return chain with { Ok = false, BrokenAt = checkpoint.Sequence, Reason = "a checkpoint's signature does not verify" };
            }

            if (checkpoint.Sequence > chain.Entries)
            {
                return chain with { Ok = false, BrokenAt = chain.Entries + 1, Reason = $"entries {chain.Entries + 1} to {checkpoint.Sequence} were removed (checkpoint of {checkpoint.At:o})" };
            }

            if (Convert.ToHexStringLower(hashes[checkpoint.Sequence]) != checkpoint.Head)
            {
                return chain with { Ok = false, BrokenAt = checkpoint.Sequence, Reason = "the chain was rewritten up to this entry (it no longer matches its checkpoint)" };
            }
        }

        return chain;
    }

    /// <summary>Writes a checkpoint for every tenant this instance appended to since the last round.</summary>
    public async Task<IReadOnlyList<AuditCheckpoint>> CheckpointAsync(CancellationToken cancellationToken)
    {
        var written = new List<AuditCheckpoint>();
        foreach (var tenant in _touched.Keys.ToList())
        {
            _touched.TryRemove(tenant, out _);
            var head = await tenantData.ReadAsync(tenant, db => db.AuditEntries.OrderByDescending(a => a.Sequence).Select(a => new { a.Sequence, a.Hash }).FirstOrDefaultAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
            if (head is null)
            {
                continue;
            }

            var unsigned = new AuditCheckpoint(tenant, head.Sequence, Convert.ToHexStringLower(head.Hash), time.GetUtcNow(), encryption.ActiveKey, string.Empty);
            var checkpoint = unsigned with { Signature = Sign(unsigned, encryption.ActiveKey) };
            written.Add(checkpoint);
            LogCheckpoint(checkpoint.Tenant, checkpoint.Sequence, checkpoint.Head, checkpoint.Signature);
            if (!string.IsNullOrWhiteSpace(options.Value.CheckpointFile))
            {
                await File.AppendAllTextAsync(options.Value.CheckpointFile, JsonSerializer.Serialize(checkpoint) + "\n", cancellationToken).ConfigureAwait(false);
            }
        }

        return written;
    }

    public static IEnumerable<AuditCheckpoint> ReadCheckpoints(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<AuditCheckpoint>(l)!);

    private bool Verify(AuditCheckpoint checkpoint)
    {
        try
        {
            return CryptographicOperations.FixedTimeEquals(Convert.FromHexString(Sign(checkpoint, checkpoint.KeyId)), Convert.FromHexString(checkpoint.Signature));
        }
        catch (Exception ex) when (ex is FormatException or CryptographicException)
        {
            return false;
        }
    }

    private string Sign(AuditCheckpoint c, string keyId)
    {
        var message = JsonSerializer.SerializeToUtf8Bytes(new object[] { CheckpointPurpose, c.Tenant, c.Sequence, c.Head, c.At.ToUnixTimeMilliseconds(), keyId });
        return Convert.ToHexStringLower(HMACSHA256.HashData(encryption.DeriveKey(CheckpointPurpose, keyId), message));
    }

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Audit checkpoint: tenant {TenantId} seq {Sequence} head {Head} sig {Signature}")]
    private partial void LogCheckpoint(string tenantId, long sequence, string head, string signature);
}
