using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace App.Infrastructure.Idempotency;

/// <summary>What the store says about a key: go ahead (claimed), replay a stored answer, or refuse.</summary>
public enum IdempotencyState
{
    Claimed,
    Replay,

    /// <summary>The key was used with another request (another body, method or path).</summary>
    Mismatch,

    /// <summary>A request with this key is still running.</summary>
    InProgress,
}

/// <summary>A stored answer: enough to send the same response again.</summary>
public sealed record StoredResponse(int Status, string? ContentType, string? Location, byte[] Body);

public sealed record IdempotencyClaim(IdempotencyState State, StoredResponse? Response = null);

/// <summary>
/// Idempotency keys in Redis, per tenant: the first request with a key claims it atomically (a pending record
/// with the request's fingerprint and a lease), runs, and stores its answer for <c>retention</c>; later requests
/// with the key and the same fingerprint get that answer, with another fingerprint a refusal. A claim whose holder
/// dies frees itself when its lease ends.
/// </summary>
public sealed class IdempotencyStore(IConnectionMultiplexer redis)
{
    private const string ClaimScript = """
        local v = redis.call('HMGET', KEYS[1], 'fp', 'state', 'status', 'ctype', 'location', 'body')
        if not v[1] then
          redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'state', 'pending')
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return {'claimed'}
        end
        if v[1] ~= ARGV[1] then return {'mismatch'} end
        if v[2] == 'pending' then return {'pending'} end
        return {'done', v[3], v[4] or '', v[5] or '', v[6] or ''}
        """;

    private const string CompleteScript = """
        if redis.call('HGET', KEYS[1], 'fp') ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'state', 'done', 'status', ARGV[2], 'ctype', ARGV[3], 'location', ARGV[4], 'body', ARGV[5])
        redis.call('PEXPIRE', KEYS[1], ARGV[6])
        return 1
        """;

    private const string ReleaseScript = """
        if redis.call('HGET', KEYS[1], 'fp') == ARGV[1] and redis.call('HGET', KEYS[1], 'state') == 'pending' then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """;

    private static readonly RedisScript Claim = new(ClaimScript), Complete = new(CompleteScript), Release = new(ReleaseScript);

    public static byte[] Fingerprint(string method, string path, ReadOnlySpan<byte> body)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(method + " " + path + "\n"));
        hash.AppendData(body);
        return hash.GetHashAndReset();
    }

    public async Task<IdempotencyClaim> ClaimAsync(string tenant, string key, byte[] fingerprint, TimeSpan lease)
    {
        var result = (RedisResult[])(await Claim.EvaluateAsync(
            redis.GetDatabase(), [Key(tenant, key)], [fingerprint, (long)lease.TotalMilliseconds]).ConfigureAwait(false))!;
        return (string?)result[0] switch
        {
            "claimed" => new IdempotencyClaim(IdempotencyState.Claimed),
            "mismatch" => new IdempotencyClaim(IdempotencyState.Mismatch),
            "pending" => new IdempotencyClaim(IdempotencyState.InProgress),
            _ => new IdempotencyClaim(IdempotencyState.Replay, new StoredResponse(
                int.Parse((string)result[1]!, CultureInfo.InvariantCulture),
                NullIfEmpty((string?)result[2]),
                NullIfEmpty((string?)result[3]),
                (byte[])result[4]! ?? [])),
        };
    }

    public Task CompleteAsync(string tenant, string key, byte[] fingerprint, StoredResponse response, TimeSpan retention)
    {
        ArgumentNullException.ThrowIfNull(response);
        return Complete.EvaluateAsync(redis.GetDatabase(), [Key(tenant, key)],
            [fingerprint, response.Status, response.ContentType ?? string.Empty, response.Location ?? string.Empty, response.Body, (long)retention.TotalMilliseconds]);
    }

    /// <summary>Frees a claim whose request ended without an answer worth keeping (a 5xx, a 429, a crash).</summary>
    public Task ReleaseAsync(string tenant, string key, byte[] fingerprint) =>
        Release.EvaluateAsync(redis.GetDatabase(), [Key(tenant, key)], [fingerprint]);

    // The key is hashed: it is the client's string, of any content, and may be long.
    private static RedisKey Key(string tenant, string key) =>
        $"app:{{t:{tenant}}}:idem:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))}";

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
