using App.Application.Traffic;
using App.Infrastructure.Redis;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace App.IntegrationTests.Traffic;

/// <summary>
/// Scripts are sent by their hash (EVALSHA). A Redis that lost them (restart, failover, SCRIPT FLUSH) must not
/// fail a call: each is run again with its text. Uses its own Redis, because it flushes its scripts.
/// </summary>
public class ScriptReloadTests : GatewayTest
{
    protected override bool OwnRedis => true;

    [Fact]
    public async Task TheHashIsTheOneRedisComputes()
    {
        await using var admin = await AdminAsync();
        var script = new RedisScript("return ARGV[1] .. KEYS[1]");
        var loaded = (string?)await admin.GetDatabase().ExecuteAsync("SCRIPT", "LOAD", script.Text);
        Assert.Equal(script.Sha1, loaded);
    }

    [Fact]
    public async Task AScriptRunsWhenRedisDoesNotKnowItAndIsKnownAfterwards()
    {
        await using var admin = await AdminAsync();
        var db = admin.GetDatabase();
        var script = new RedisScript($"return redis.call('INCRBY', KEYS[1], ARGV[1]) -- {Guid.NewGuid():N}");
        Assert.False(await ScriptExistsAsync(db, script));

        Assert.Equal(5, (long)await script.EvaluateAsync(db, ["counter"], [5]));
        Assert.True(await ScriptExistsAsync(db, script));

        await db.ExecuteAsync("SCRIPT", "FLUSH");
        var batch = db.CreateBatch();
        var replies = Enumerable.Range(0, 10).Select(_ => script.EvaluateAsync(batch, db, ["counter"], [1])).ToArray();
        batch.Execute();
        var values = (await Task.WhenAll(replies)).Select(r => (long)r).Order().ToArray();

        // Each ran exactly once: none lost to NOSCRIPT, none run twice.
        Assert.Equal(Enumerable.Range(6, 10).Select(i => (long)i), values);
        Assert.Equal(15, (long)await db.StringGetAsync("counter"));
        Assert.True(await ScriptExistsAsync(db, script));
    }

    [Fact]
    public async Task AnErrorOfTheScriptItselfIsNotRetried()
    {
        await using var admin = await AdminAsync();
        var db = admin.GetDatabase();
        var script = new RedisScript("redis.call('INCR', KEYS[1]) return redis.error_reply('refused')");

        var error = await Assert.ThrowsAsync<RedisServerException>(() => script.EvaluateAsync(db, ["tries"], []));
        Assert.Contains("refused", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, (long)await db.StringGetAsync("tries"));
    }

    [Fact]
    public async Task EveryEmbeddedScriptCompiles()
    {
        const string Prefix = "App.Infrastructure.Redis.Scripts.";
        var paths = typeof(RedisScript).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(".lua", StringComparison.Ordinal))
            .Select(n => n[Prefix.Length..^".lua".Length].Replace('.', '/') + ".lua")
            .ToList();
        Assert.Contains("Traffic/Admit.lua", paths);
        Assert.Contains("Jobs/DeadLetter.lua", paths);
        Assert.Contains("Idempotency/Claim.lua", paths);

        await using var admin = await AdminAsync();
        var db = admin.GetDatabase();
        foreach (var path in paths)
        {
            // SCRIPT LOAD compiles a script without running it, so a syntax error fails here, naming the file.
            var script = RedisScript.Load(path);
            var error = await Record.ExceptionAsync(async () => Assert.Equal(script.Sha1, (string?)await db.ExecuteAsync("SCRIPT", "LOAD", script.Text)));
            Assert.True(error is null, $"{path}: {error?.Message}");
        }
    }

    [Fact]
    public async Task AdmissionsAndSettlementsCarryOnAfterAScriptFlush()
    {
        var limiter = Factory.Services.GetRequiredService<IUsageLimiter>();
        var caller = new UsageCaller(Tenant, "flushed");
        var first = await limiter.AdmitAsync(caller, "gpt", 100, default);
        await limiter.SettleAsync(first, new CallUsage(10, 5, Cached: false));

        await using (var admin = await AdminAsync())
        {
            await admin.GetDatabase().ExecuteAsync("SCRIPT", "FLUSH");
        }

        // Concurrent settlements go to Redis in one batch: every one of them meets NOSCRIPT and must still count.
        const int Calls = 40;
        var admissions = await Task.WhenAll(Enumerable.Range(0, Calls).Select(_ => limiter.AdmitAsync(caller, "gpt", 100, default).AsTask()));
        Assert.All(admissions, a => Assert.Equal(AdmissionVerdict.Admitted, a.Verdict));
        await using (var admin = await AdminAsync())
        {
            await admin.GetDatabase().ExecuteAsync("SCRIPT", "FLUSH");
        }

        await Task.WhenAll(admissions.Select(a => Task.Run(() => limiter.SettleAsync(a, new CallUsage(10, 5, Cached: false)).AsTask())));

        var day = (await limiter.ReportAsync(Tenant, default)).Day;
        Assert.Equal(Calls + 1, day.Requests);
        Assert.Equal((Calls + 1) * 10, day.InputTokens);
        Assert.Equal((Calls + 1) * 5, day.OutputTokens);
    }

    private async Task<ConnectionMultiplexer> AdminAsync() =>
        await ConnectionMultiplexer.ConnectAsync(Redis.ConnectionString + ",allowAdmin=true");

    private static async Task<bool> ScriptExistsAsync(IDatabase db, RedisScript script) =>
        (long)((RedisResult[])(await db.ExecuteAsync("SCRIPT", "EXISTS", script.Sha1))!)[0] == 1;
}
