using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace App.Infrastructure;

/// <summary>
/// A Lua script sent by its SHA1 (<c>EVALSHA</c>), loaded again whenever Redis answers that it does not know it.
/// </summary>
/// <remarks>
/// The client's <c>ScriptEvaluateAsync(string, ...)</c> finds the hash it sends by looking the script's text up in a
/// table on every call, which hashes the whole text each time: on the request path, for the admission and the
/// settlement scripts, that was ~3 % of the gateway's CPU on cache hits. Here the hash is computed once. A Redis
/// that lost its scripts (a restart, a failover to a replica that never ran them, <c>SCRIPT FLUSH</c>) answers
/// <c>NOSCRIPT</c> without running anything, so the call is simply made again with <c>EVAL</c> and the full text,
/// which also puts the script back in Redis's cache for the calls after it.
/// </remarks>
internal sealed class RedisScript
{
    private readonly byte[] _sha1;

    public RedisScript(string text)
    {
        Text = text;
        // EVALSHA names a script by its SHA1: an identifier Redis chose, not a use of SHA1 for security.
#pragma warning disable CA5350
        _sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(text));
#pragma warning restore CA5350
    }

    public string Text { get; }

    /// <summary>The hash Redis knows the script by, in hex.</summary>
    public string Sha1 => Convert.ToHexStringLower(_sha1);

    /// <summary>Runs the script on <paramref name="db"/>.</summary>
    public Task<RedisResult> EvaluateAsync(IDatabase db, RedisKey[] keys, RedisValue[] args) =>
        RunAsync(db.ScriptEvaluateAsync(_sha1, keys, args), db, keys, args);

    /// <summary>
    /// Queues the script in <paramref name="batch"/> (sent when the batch is executed); should Redis not know it, it
    /// runs again on its own through <paramref name="db"/>.
    /// </summary>
    public Task<RedisResult> EvaluateAsync(IBatch batch, IDatabase db, RedisKey[] keys, RedisValue[] args) =>
        RunAsync(batch.ScriptEvaluateAsync(_sha1, keys, args), db, keys, args);

    private async Task<RedisResult> RunAsync(Task<RedisResult> sent, IDatabase db, RedisKey[] keys, RedisValue[] args)
    {
        try
        {
            return await sent.ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            return await db.ScriptEvaluateAsync(Text, keys, args, CommandFlags.NoScriptCache).ConfigureAwait(false);
        }
    }
}
