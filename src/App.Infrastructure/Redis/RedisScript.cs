using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace App.Infrastructure.Redis;

/// <summary>
/// A Lua script sent by its SHA1 (<c>EVALSHA</c>). A Redis that lost its scripts (a restart, a failover to a replica
/// that never ran them, <c>SCRIPT FLUSH</c>) answers <c>NOSCRIPT</c> without running anything, so the call is made
/// again with <c>EVAL</c> and the full text, which also puts the script back in Redis's cache.
/// </summary>
/// <remarks>
/// The hash is computed once because the client's own <c>ScriptEvaluateAsync(string, ...)</c> hashes the whole text
/// on every call, a cost the request path's profile shows (docs/benchmarks-history.md, "Scripts sent by a hash
/// computed once").
/// </remarks>
internal sealed class RedisScript
{
    // Scripts are embedded from Redis/Scripts, each named by the namespace of this class and its path there.
    private static readonly string ResourcePrefix = typeof(RedisScript).Namespace + ".Scripts.";

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

    /// <summary>
    /// The script embedded from <c>Redis/Scripts/</c><paramref name="path"/> (e.g. <c>Traffic/Admit.lua</c>); callers
    /// keep it in a static field, so each is read and hashed once.
    /// </summary>
    public static RedisScript Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var resource = ResourcePrefix + path.Replace('/', '.');
        using var stream = typeof(RedisScript).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"No Redis script is embedded as Redis/Scripts/{path} (resource {resource}).");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return new RedisScript(reader.ReadToEnd());
    }

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
