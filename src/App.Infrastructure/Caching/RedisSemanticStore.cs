using System.Text.Json;
using App.Application.Semantic;
using App.Application.Telemetry;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace App.Infrastructure.Caching;

/// <summary>
/// The semantic cache's partitions in Redis: one list per partition key, newest entry first, trimmed to the bound and
/// expiring as a whole after its last new entry (<c>LPUSH</c>, <c>LTRIM</c>, <c>PEXPIRE</c> in one transaction). A
/// search reads the whole bounded list with one <c>LRANGE</c>. Redis being down is a miss, as for the other caches.
/// </summary>
internal sealed partial class RedisSemanticStore(IConnectionMultiplexer redis, TimeProvider time, ILogger<RedisSemanticStore> logger) : ISemanticStore
{
    private readonly Throttle _logging = new(TimeSpan.FromSeconds(10), time);

    public async ValueTask<IReadOnlyList<SemanticEntry>> ReadAsync(string partition, CancellationToken cancellationToken)
    {
        try
        {
            var values = await redis.GetDatabase().ListRangeAsync(partition).ConfigureAwait(false);
            var entries = new List<SemanticEntry>(values.Length);
            foreach (var value in values)
            {
                if (JsonSerializer.Deserialize((byte[])value!, CacheJsonContext.Default.SemanticEntry) is { } entry)
                {
                    entries.Add(entry);
                }
            }

            return entries;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or JsonException or ObjectDisposedException)
        {
            Failed("read", ex);
            return [];
        }
    }

    public async ValueTask AddAsync(string partition, SemanticEntry entry, int maxEntries, TimeSpan ttl)
    {
        try
        {
            var transaction = redis.GetDatabase().CreateTransaction();
            _ = transaction.ListLeftPushAsync(partition, JsonSerializer.SerializeToUtf8Bytes(entry, CacheJsonContext.Default.SemanticEntry));
            _ = transaction.ListTrimAsync(partition, 0, maxEntries - 1);
            _ = transaction.KeyExpireAsync(partition, ttl);
            await transaction.ExecuteAsync().ConfigureAwait(false);
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
            LogUnavailable(operation, ex.GetType().Name, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Semantic cache {Operation} failed ({ErrorType}: {Error}); answering without it until Redis answers again")]
    private partial void LogUnavailable(string operation, string errorType, string error);
}
