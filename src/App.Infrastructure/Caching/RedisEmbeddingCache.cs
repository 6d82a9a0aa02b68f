using System.Buffers.Binary;
using System.Runtime.InteropServices;
using App.Application.Embeddings;
using App.Application.Telemetry;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace App.Infrastructure.Caching;

/// <summary>
/// The embedding cache in Redis: one string per item (its token count, then its vector as little-endian float32),
/// read for a whole batch with one <c>MGET</c> and written with one pipelined round of <c>SET ... PX</c>. Redis being
/// down is not an error for the caller, as for the response cache: reads are misses, writes are dropped, both counted
/// and logged at most every few seconds.
/// </summary>
internal sealed partial class RedisEmbeddingCache(IConnectionMultiplexer redis, TimeProvider time, ILogger<RedisEmbeddingCache> logger) : IEmbeddingCache
{
    private readonly Throttle _logging = new(TimeSpan.FromSeconds(10), time);

    public async ValueTask<CachedEmbedding?[]> GetManyAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var found = new CachedEmbedding?[keys.Count];
        if (keys.Count == 0)
        {
            return found;
        }

        try
        {
            var values = await redis.GetDatabase().StringGetAsync([.. keys.Select(k => (RedisKey)k)]).ConfigureAwait(false);
            for (var i = 0; i < values.Length; i++)
            {
                found[i] = values[i].IsNull ? null : Decode((byte[])values[i]!);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            Failed("read", ex);
        }

        return found;
    }

    public async ValueTask SetManyAsync(IReadOnlyList<KeyValuePair<string, CachedEmbedding>> entries, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return;
        }

        try
        {
            var db = redis.GetDatabase();
            var batch = db.CreateBatch();
            var writes = new Task[entries.Count];
            for (var i = 0; i < entries.Count; i++)
            {
                writes[i] = batch.StringSetAsync(entries[i].Key, Encode(entries[i].Value), ttl);
            }

            batch.Execute();
            await Task.WhenAll(writes).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            Failed("write", ex);
        }
    }

    internal static byte[] Encode(CachedEmbedding value)
    {
        var bytes = new byte[4 + (value.Vector.Length * 4)];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value.Tokens);
        var floats = MemoryMarshal.AsBytes(value.Vector.AsSpan());
        if (BitConverter.IsLittleEndian)
        {
            floats.CopyTo(bytes.AsSpan(4));
        }
        else
        {
            for (var i = 0; i < value.Vector.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 + (i * 4)), value.Vector[i]);
            }
        }

        return bytes;
    }

    /// <summary>The entry, or null for bytes that are not one (a miss, not an error).</summary>
    internal static CachedEmbedding? Decode(byte[] bytes)
    {
        if (bytes.Length < 8 || (bytes.Length - 4) % 4 != 0)
        {
            return null;
        }

        var vector = new float[(bytes.Length - 4) / 4];
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4 + (i * 4)));
        }

        return new CachedEmbedding(vector, BinaryPrimitives.ReadInt32LittleEndian(bytes));
    }

    private void Failed(string operation, Exception ex)
    {
        GatewayTelemetry.CacheErrors.Add(1, new KeyValuePair<string, object?>("app.cache.operation", operation));
        if (_logging.TryPass())
        {
            LogCacheUnavailable(operation, ex.GetType().Name, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Embedding cache {Operation} failed ({ErrorType}: {Error}); embedding uncached until Redis answers again")]
    private partial void LogCacheUnavailable(string operation, string errorType, string error);
}
