using System.Collections.Concurrent;
using System.Security.Cryptography;
using App.Application.Audit;
using App.Application.Identity;
using App.Application.Privacy;
using App.Infrastructure.Persistence;
using App.Infrastructure.Security;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace App.Infrastructure.Privacy;

/// <summary>
/// Each tenant's data keys: made on first use, stored wrapped by the master key ring and bound to their tenant, and
/// held unwrapped in memory for <c>Encryption:DataKeyCache</c> at most. An erasure is announced on the Redis channel
/// <c>privacy:erasures</c> and every instance forgets the tenant's keys as it hears it; one that cannot hear (Redis
/// away) forgets them when that time ends, and forgets every key when its connection comes back, since an announcement
/// may have been missed meanwhile. The service's warm-up tenant gets a key that is never stored, since its writes are
/// rolled back.
/// </summary>
public sealed partial class TenantKeys
{
    public const string Channel = "privacy:erasures";

    private readonly ConcurrentDictionary<string, Cached> _active = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Tenant, Guid Id), Cached> _known = new();
    private readonly DataKey _warmUp = new(Guid.NewGuid(), RandomNumberGenerator.GetBytes(32));
    private readonly IDbContextFactory<AppDbContext> _databases;
    private readonly KeyEncryption _encryption;
    private readonly IOptions<EncryptionOptions> _options;
    private readonly TimeProvider _time;
    private readonly IConnectionMultiplexer _redis;
    private readonly ILogger<TenantKeys> _logger;
    private int _subscribed;
    private long _generation;

    public TenantKeys(IDbContextFactory<AppDbContext> databases, KeyEncryption encryption, IOptions<EncryptionOptions> options, TimeProvider time, IConnectionMultiplexer redis, ILogger<TenantKeys> logger)
    {
        _databases = databases;
        _encryption = encryption;
        _options = options;
        _time = time;
        _redis = redis;
        _logger = logger;
        redis.ConnectionRestored += (_, _) =>
        {
            ForgetAll();
            _ = SubscribeAsync();
        };
        _ = SubscribeAsync();
    }

    /// <summary>The key new content of the tenant is sealed with, made if the tenant has none. Blocking: for the trace writer's own thread.</summary>
    public DataKey Active(string tenantId)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        if (ReservedTenants.IsWarmUp(tenantId))
        {
            return _warmUp;
        }

        if (_active.TryGetValue(tenantId, out var cached) && cached.IsFresh(_time))
        {
            return cached.Key;
        }

        var generation = Interlocked.Read(ref _generation);
        using var db = _databases.CreateDbContext();
        db.TenantId = tenantId;
        using var tx = db.Database.BeginTransaction();
        // One key made at a time per tenant: two writers starting together share it.
        db.Database.ExecuteSql($"SELECT pg_advisory_xact_lock(hashtext({LockName(tenantId)}))");
        var row = db.TenantDataKeys.AsNoTracking().OrderByDescending(k => k.CreatedAt).ThenBy(k => k.Id).FirstOrDefault();
        // Content captured before the tenant's last erasure is not sealed with a key made after it.
        var erasedAt = db.AuditEntries.Where(a => a.Kind == AuditKinds.ContentErased).Max(a => (DateTimeOffset?)a.At);
        DataKey key;
        if (row is null)
        {
            key = new DataKey(Guid.NewGuid(), RandomNumberGenerator.GetBytes(32), erasedAt);
            db.TenantDataKeys.Add(new TenantDataKey { TenantId = tenantId, Id = key.Id, WrappedKey = _encryption.Encrypt(key.Material, Context(tenantId, key.Id)), CreatedAt = _time.GetUtcNow() });
            db.SaveChanges();
        }
        else
        {
            key = Unwrap(row) with { ErasedAt = erasedAt };
        }

        tx.Commit();
        Remember(tenantId, key, active: true, generation);
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

        if (_known.TryGetValue((tenantId, id), out var cached) && cached.IsFresh(_time))
        {
            return cached.Key;
        }

        var generation = Interlocked.Read(ref _generation);
        // On the primary: a standby that lags might still show a key an erasure has destroyed.
        var row = await data.ReadAsync(tenantId, db => db.TenantDataKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Id == id, cancellationToken), cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            return null;
        }

        var key = Unwrap(row);
        Remember(tenantId, key, active: false, generation);
        return key;
    }

    /// <summary>Forgets the tenant's keys here and announces it to every other instance, once they are destroyed.</summary>
    public async Task ForgetEverywhereAsync(string tenantId)
    {
        Forget(tenantId);
        try
        {
            await _redis.GetSubscriber().PublishAsync(RedisChannel.Literal(Channel), tenantId).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The keys are gone from the database: other instances forget them when their cache time ends.
            LogAnnounceFailed(ex.Message);
        }
    }

    /// <summary>Forgets every key of the tenant this instance holds, once they are destroyed.</summary>
    public void Forget(string tenantId)
    {
        // A key read before this and remembered after it would outlive the erasure: such a read is not remembered.
        Interlocked.Increment(ref _generation);
        _active.TryRemove(tenantId, out _);
        foreach (var entry in _known.Keys.Where(k => k.Tenant == tenantId))
        {
            _known.TryRemove(entry, out _);
        }
    }

    private void ForgetAll()
    {
        Interlocked.Increment(ref _generation);
        _active.Clear();
        _known.Clear();
    }

    private async Task SubscribeAsync()
    {
        if (Interlocked.Exchange(ref _subscribed, 1) == 1)
        {
            return;
        }

        try
        {
            // Re-subscribed by the multiplexer after a reconnect.
            await _redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(Channel), (_, message) =>
            {
                if (!message.IsNullOrEmpty)
                {
                    Forget(message!);
                }
            }).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _subscribed = 0;
            LogSubscribeFailed(ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not announce an erasure on Redis ({Reason}); other instances forget the erased keys when their cache time ends.")]
    private partial void LogAnnounceFailed(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not subscribe to erasure announcements ({Reason}); erased keys are forgotten when their cache time ends.")]
    private partial void LogSubscribeFailed(string reason);

    /// <summary>The advisory lock a tenant's keys are made and destroyed under.</summary>
    public static string LockName(string tenantId) => "data-key:" + tenantId;

    /// <summary>The associated data of a wrapped key: it unwraps only as its own tenant's key of its own id.</summary>
    public static string Context(string tenantId, Guid id) => $"tenant-data-key:{tenantId}:{id:N}";

    private DataKey Unwrap(TenantDataKey row) => new(row.Id, _encryption.Decrypt(row.WrappedKey, Context(row.TenantId, row.Id)));

    private void Remember(string tenantId, DataKey key, bool active, long generation)
    {
        if (Interlocked.Read(ref _generation) != generation)
        {
            return;
        }

        var entry = new Cached(key, _time.GetUtcNow() + _options.Value.DataKeyCache);
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
