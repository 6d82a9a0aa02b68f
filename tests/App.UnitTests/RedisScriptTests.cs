using App.Infrastructure.Redis;

namespace App.UnitTests;

/// <summary>Lua scripts live in files of their own under Redis/Scripts, embedded and loaded by their path there.</summary>
public class RedisScriptTests
{
    [Fact]
    public void AScriptIsLoadedByItsPathWithTheHashOfItsText()
    {
        var script = RedisScript.Load("Traffic/GiveBack.lua");

        Assert.Contains("redis.call('INCRBY', KEYS[i], ARGV[i])", script.Text, StringComparison.Ordinal);
        Assert.Equal(new RedisScript(script.Text).Sha1, script.Sha1);
    }

    [Fact]
    public void AnUnknownScriptIsRefusedNamingItsPath()
    {
        var error = Assert.Throws<InvalidOperationException>(() => RedisScript.Load("Traffic/Missing.lua"));
        Assert.Contains("Redis/Scripts/Traffic/Missing.lua", error.Message, StringComparison.Ordinal);
    }
}
