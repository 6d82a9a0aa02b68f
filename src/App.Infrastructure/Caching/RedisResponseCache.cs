using System.Text.Json;
using App.Application.Caching;
using App.Application.Telemetry;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace App.Infrastructure.Caching;

/// <summary>
/// The response cache in Redis. Redis being down is not an error for the caller: reads become misses, writes
/// are dropped, both are counted (<c>app.gateway.cache.errors</c>) and logged at most every few seconds; the
/// multiplexer reconnects by itself and the cache resumes.
/// </summary>
internal sealed partial class RedisResponseCache(IConnectionMultiplexer redis, TimeProvider time, ILogger<RedisResponseCache> logger) : IResponseCache
{
    private readonly Throttle _logging = new(TimeSpan.FromSeconds(10), time);

    public async ValueTask<CachedCompletion?> GetAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var value = await redis.GetDatabase().StringGetAsync(key).ConfigureAwait(false);
            return value.IsNull ? null : JsonSerializer.Deserialize((byte[])value!, CacheJsonContext.Default.CachedCompletion);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or JsonException or ObjectDisposedException)
        {
            Failed("read", ex);
            return null;
        }
    }

    public async ValueTask SetAsync(string key, CachedCompletion value, TimeSpan ttl, CancellationToken cancellationToken)
    {
        try
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(value, CacheJsonContext.Default.CachedCompletion);
            await redis.GetDatabase().StringSetAsync(key, bytes, ttl).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            Failed("write", ex);
        }
    }

    private void Failed(string operation, Exception ex)
    {
        GatewayTelemetry.CacheErrors.Add(1, new KeyValuePair<string, object?>("app.cache.operation", operation));
        if (_logging.TryPass())
        {
            LogCacheUnavailable(operation, ex.GetType().Name, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Response cache {Operation} failed ({ErrorType}: {Error}); serving uncached until Redis answers again")]
    private partial void LogCacheUnavailable(string operation, string errorType, string error);
}
