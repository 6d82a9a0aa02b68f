using System.Collections.Concurrent;
using App.Application.Identity;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace App.Infrastructure.Identity;

/// <summary>
/// Ends access tokens before they expire. A revocation is a marker in Redis (<c>auth:revoked:sid:*</c> or
/// <c>auth:revoked:sub:*</c>, kept as long as a token can live) and a message on <c>auth:revocations</c>. Every
/// instance keeps a mirror of the markers in memory: subscribed to the channel first, then loaded from Redis, so
/// nothing published while loading is missed. While the mirror is in sync a check costs no round trip; while it is
/// not (starting, or after a connection loss until it has reloaded) every check asks Redis, as before. If Redis
/// cannot answer at all the check passes: access tokens live 5 minutes at most, and refusing every request during
/// a cache outage would be worse.
/// </summary>
public sealed partial class RevocationList
{
    public const string Channel = "auth:revocations";
    private const string Prefix = "auth:revoked:";

    private readonly IConnectionMultiplexer _redis;
    private readonly IOptions<AuthOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RevocationList> _logger;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _mirror = new(StringComparer.Ordinal);
    private volatile bool _synced;
    private int _syncing;
    private int _subscribed;
    private long _lastPrune;
    private long _lastSyncTry;

    public RevocationList(IConnectionMultiplexer redis, IOptions<AuthOptions> options, TimeProvider time, ILogger<RevocationList> logger)
    {
        _redis = redis;
        _options = options;
        _time = time;
        _logger = logger;
        // A lost connection may have lost messages: ask Redis on every check until the mirror is reloaded.
        redis.ConnectionFailed += (_, _) => _synced = false;
        redis.ConnectionRestored += (_, _) => _ = SyncAsync();
        _ = SyncAsync();
    }

    /// <summary>True while checks are answered from memory.</summary>
    public bool InSync => _synced;

    private TimeSpan Ttl => _options.Value.AccessTokenLifetime + _options.Value.ClockSkew + TimeSpan.FromSeconds(5);

    public Task RevokeSessionAsync(string sessionId) => RevokeAsync("sid:" + sessionId);

    public Task RevokeUserAsync(string subject) => RevokeAsync("sub:" + subject);

    public async Task<bool?> IsRevokedAsync(string? subject, string? sessionId)
    {
        if (_synced && _redis.IsConnected)
        {
            // Nothing revoked in the last few minutes (the usual case): no marker to build or look up.
            return !_mirror.IsEmpty && (Mirrored("sub:" + subject) || Mirrored("sid:" + sessionId));
        }

        var now = _time.GetUtcNow().UtcTicks;
        var lastTry = Interlocked.Read(ref _lastSyncTry);
        if (_redis.IsConnected && now - lastTry > TimeSpan.TicksPerSecond * 5 && Interlocked.CompareExchange(ref _lastSyncTry, now, lastTry) == lastTry)
        {
            _ = SyncAsync();
        }

        try
        {
            var count = await _redis.GetDatabase().KeyExistsAsync([Prefix + "sub:" + subject, Prefix + "sid:" + sessionId]).ConfigureAwait(false);
            return count > 0;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return null;
        }
    }

    private async Task RevokeAsync(string marker)
    {
        Remember(marker, _time.GetUtcNow() + Ttl);
        try
        {
            var db = _redis.GetDatabase();
            await db.StringSetAsync(Prefix + marker, "1", Ttl).ConfigureAwait(false);
            await db.PublishAsync(RedisChannel.Literal(Channel), marker).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The database revocation already holds; only the next few minutes of access tokens are affected.
            LogPublishFailed(ex.Message);
        }
    }

    private async Task SyncAsync()
    {
        if (Interlocked.Exchange(ref _syncing, 1) == 1)
        {
            return;
        }

        try
        {
            _synced = false;
            if (Interlocked.Exchange(ref _subscribed, 1) == 0)
            {
                // Re-subscribed by the multiplexer after a reconnect; subscribed once here.
                await _redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(Channel), (_, message) =>
                {
                    if (!message.IsNullOrEmpty)
                    {
                        Remember(message!, _time.GetUtcNow() + Ttl);
                    }
                }).ConfigureAwait(false);
            }

            var db = _redis.GetDatabase();
            foreach (var server in _redis.GetServers().Where(s => s.IsConnected && !s.IsReplica))
            {
                await foreach (var key in server.KeysAsync(pattern: Prefix + "*", pageSize: 1000).ConfigureAwait(false))
                {
                    var ttl = await db.KeyTimeToLiveAsync(key).ConfigureAwait(false);
                    Remember(((string)key!)[Prefix.Length..], _time.GetUtcNow() + (ttl ?? Ttl));
                }
            }

            _synced = _redis.IsConnected;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidOperationException)
        {
            _synced = false;
            _subscribed = 0;
            LogSyncFailed(ex.Message);
        }
        finally
        {
            _syncing = 0;
        }
    }

    private bool Mirrored(string marker)
    {
        if (!_mirror.TryGetValue(marker, out var until))
        {
            return false;
        }

        if (until > _time.GetUtcNow())
        {
            return true;
        }

        _mirror.TryRemove(new KeyValuePair<string, DateTimeOffset>(marker, until));
        return false;
    }

    private void Remember(string marker, DateTimeOffset until)
    {
        _mirror.AddOrUpdate(marker, until, (_, existing) => existing > until ? existing : until);
        var now = _time.GetUtcNow();
        var last = Interlocked.Read(ref _lastPrune);
        if (now.UtcTicks - last > TimeSpan.TicksPerMinute && Interlocked.CompareExchange(ref _lastPrune, now.UtcTicks, last) == last)
        {
            foreach (var entry in _mirror)
            {
                if (entry.Value <= now)
                {
                    _mirror.TryRemove(entry);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Revocation mirror could not load from Redis ({Error}); checking Redis on every request until it can")]
    private partial void LogSyncFailed(string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Revocation could not be written to Redis ({Error}); this instance enforces it, others after their refresh-token check")]
    private partial void LogPublishFailed(string error);
}
