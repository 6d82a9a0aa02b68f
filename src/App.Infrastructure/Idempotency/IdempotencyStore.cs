using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using App.Application;
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

/// <summary>Whose key it is: keys are the caller's own, so two users of a tenant may use the same one.</summary>
public readonly record struct IdempotencyCaller(string Tenant, string User);

public sealed record IdempotencyClaim(IdempotencyState State, StoredResponse? Response = null);

/// <summary>
/// Idempotency keys in Redis, per caller (tenant and user, as the jobs they guard are): the first request with a key
/// claims it atomically (a pending record with the request's fingerprint and a lease), runs, and stores its answer
/// for <c>retention</c>; later requests with the key and the same fingerprint get that answer, with another
/// fingerprint a refusal. A claim whose holder dies frees itself when its lease ends.
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

    /// <summary>What makes two requests the same: method, path and query, and the body as canonical JSON.</summary>
    public static byte[] Fingerprint(string method, string path, ReadOnlySpan<byte> body) =>
        CanonicalJson.Hash(Encoding.UTF8.GetBytes(method + " " + path + "\n"), body);

    public async Task<IdempotencyClaim> ClaimAsync(IdempotencyCaller caller, string key, byte[] fingerprint, TimeSpan lease)
    {
        var result = (RedisResult[])(await Claim.EvaluateAsync(
            redis.GetDatabase(), [Key(caller, key)], [fingerprint, (long)lease.TotalMilliseconds]).ConfigureAwait(false))!;
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

    public Task CompleteAsync(IdempotencyCaller caller, string key, byte[] fingerprint, StoredResponse response, TimeSpan retention)
    {
        ArgumentNullException.ThrowIfNull(response);
        return Complete.EvaluateAsync(redis.GetDatabase(), [Key(caller, key)],
            [fingerprint, response.Status, response.ContentType ?? string.Empty, response.Location ?? string.Empty, response.Body, (long)retention.TotalMilliseconds]);
    }

    /// <summary>Frees a claim whose request ended without an answer worth keeping (a 5xx, a 429, a crash).</summary>
    public Task ReleaseAsync(IdempotencyCaller caller, string key, byte[] fingerprint) =>
        Release.EvaluateAsync(redis.GetDatabase(), [Key(caller, key)], [fingerprint]);

    // The key is hashed with the user's id: both are strings of any content and length. The tenant stays in clear, as
    // the hash tag that keeps a tenant's keys on one Redis Cluster slot.
    private static RedisKey Key(IdempotencyCaller caller, string key) =>
        $"app:{{t:{caller.Tenant}}}:idem:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(caller.User + "\n" + key)))}";

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
