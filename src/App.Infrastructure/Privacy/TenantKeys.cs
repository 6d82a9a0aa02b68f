using System.Collections.Concurrent;
using System.Security.Cryptography;
using App.Application.Identity;
using App.Application.Privacy;
using App.Infrastructure.Persistence;
using App.Infrastructure.Security;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Privacy;

/// <summary>
/// Each tenant's data keys: made on first use, stored wrapped by the master key ring and bound to their tenant, and
/// held unwrapped in memory for <c>Encryption:DataKeyCache</c> at most, so an erasure on another instance takes hold
/// here within that time. The service's warm-up tenant gets a key that is never stored, since its writes are rolled back.
/// </summary>
public sealed class TenantKeys(IDbContextFactory<AppDbContext> databases, KeyEncryption encryption, IOptions<EncryptionOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Cached> _active = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Tenant, Guid Id), Cached> _known = new();
    private readonly DataKey _warmUp = new(Guid.NewGuid(), RandomNumberGenerator.GetBytes(32));

    /// <summary>The key new content of the tenant is sealed with, made if the tenant has none. Blocking: for the trace writer's own thread.</summary>
    public DataKey Active(string tenantId)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        if (ReservedTenants.IsWarmUp(tenantId))
        {
            return _warmUp;
        }

        if (_active.TryGetValue(tenantId, out var cached) && cached.IsFresh(time))
        {
            return cached.Key;
        }

        using var db = databases.CreateDbContext();
        db.TenantId = tenantId;
        using var tx = db.Database.BeginTransaction();
        // One key made at a time per tenant: two writers starting together share it.
        db.Database.ExecuteSql($"SELECT pg_advisory_xact_lock(hashtext({LockName(tenantId)}))");
        var row = db.TenantDataKeys.AsNoTracking().OrderByDescending(k => k.CreatedAt).ThenBy(k => k.Id).FirstOrDefault();
        DataKey key;
        if (row is null)
        {
            key = new DataKey(Guid.NewGuid(), RandomNumberGenerator.GetBytes(32));
            db.TenantDataKeys.Add(new TenantDataKey { TenantId = tenantId, Id = key.Id, WrappedKey = encryption.Encrypt(key.Material, Context(tenantId, key.Id)), CreatedAt = time.GetUtcNow() });
            db.SaveChanges();
        }
        else
        {
            key = Unwrap(row);
        }

        tx.Commit();
        Remember(tenantId, key, active: true);
        return key;
    }

    /// <summary>The tenant's key of that id, or null when it no longer exists: what it sealed is erased.</summary>
    public async Task<DataKey?> FindAsync(TenantData data, string tenantId, Guid id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (ReservedTenants.IsWarmUp(tenantId))
        {
            return id == _warmUp.Id ? _warmUp : null;
        }

        if (_known.TryGetValue((tenantId, id), out var cached) && cached.IsFresh(time))
        {
            return cached.Key;
        }

        // On the primary: a standby that lags might still show a key an erasure has destroyed.
        var row = await data.ReadAsync(tenantId, db => db.TenantDataKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Id == id, cancellationToken), cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            return null;
        }

        var key = Unwrap(row);
        Remember(tenantId, key, active: false);
        return key;
    }

    /// <summary>Forgets every key of the tenant this instance holds, once they are destroyed.</summary>
    public void Forget(string tenantId)
    {
        _active.TryRemove(tenantId, out _);
        foreach (var entry in _known.Keys.Where(k => k.Tenant == tenantId))
        {
            _known.TryRemove(entry, out _);
        }
    }

    /// <summary>The advisory lock a tenant's keys are made and destroyed under.</summary>
    public static string LockName(string tenantId) => "data-key:" + tenantId;

    /// <summary>The associated data of a wrapped key: it unwraps only as its own tenant's key of its own id.</summary>
    public static string Context(string tenantId, Guid id) => $"tenant-data-key:{tenantId}:{id:N}";

    private DataKey Unwrap(TenantDataKey row) => new(row.Id, encryption.Decrypt(row.WrappedKey, Context(row.TenantId, row.Id)));

    private void Remember(string tenantId, DataKey key, bool active)
    {
        var entry = new Cached(key, time.GetUtcNow() + options.Value.DataKeyCache);
        if (active)
        {
            _active[tenantId] = entry;
        }

        _known[(tenantId, key.Id)] = entry;
    }

    private sealed record Cached(DataKey Key, DateTimeOffset Until)
    {
        public bool IsFresh(TimeProvider time) => time.GetUtcNow() < Until;
    }
}
