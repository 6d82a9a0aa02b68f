using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using App.Application;
using App.Infrastructure.Redis;
using StackExchange.Redis;

namespace App.Infrastructure.Idempotency;

/// <summary>
/// Idempotency keys in Redis, per caller (tenant and user, as the jobs they guard are): the first request with a key
/// claims it atomically (a pending record with the request's fingerprint and a lease), runs, and stores its answer
/// for <c>retention</c>; later requests with the key and the same fingerprint get that answer, with another
/// fingerprint a refusal. A claim whose holder dies frees itself when its lease ends.
/// </summary>
public sealed class IdempotencyStore(IConnectionMultiplexer redis)
{
    private static readonly RedisScript Claim = RedisScript.Load("Idempotency/Claim.lua"),
        Complete = RedisScript.Load("Idempotency/Complete.lua"),
        Release = RedisScript.Load("Idempotency/Release.lua");

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
