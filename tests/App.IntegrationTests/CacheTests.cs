using System.Net;
using App.FakeUpstream;
using App.Testing;

namespace App.IntegrationTests;

public class CacheTests : GatewayTest
{
    [Fact]
    public async Task ASecondIdenticalDeterministicRequestIsServedFromTheCache()
    {
        using var first = await PostAsync(Chat("cache me", temperature: 0));
        using var second = await PostAsync(Chat("cache me", temperature: 0));
        Assert.Equal("miss", Header(first, "x-cache"));
        Assert.Equal("hit", Header(second, "x-cache"));
        var a = await ReadAsync(first);
        var b = await ReadAsync(second);
        Assert.Equal(
            a.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(),
            b.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(a.GetProperty("usage").GetProperty("total_tokens").GetInt32(), b.GetProperty("usage").GetProperty("total_tokens").GetInt32());
        Assert.NotEqual(a.GetProperty("id").GetString(), b.GetProperty("id").GetString());
        Assert.Equal(1, Upstream.Requests);
    }

    [Fact]
    public async Task SampledRequestsAndNoStoreBypassTheCache()
    {
        using var sampled1 = await PostAsync(Chat("sampled", temperature: 0.8));
        using var sampled2 = await PostAsync(Chat("sampled", temperature: 0.8));
        using var noStore1 = await PostAsync(Chat("no store", temperature: 0), noStore: true);
        using var noStore2 = await PostAsync(Chat("no store", temperature: 0), noStore: true);
        Assert.All([sampled1, sampled2, noStore1, noStore2], r => Assert.Equal("bypass", Header(r, "x-cache")));
        Assert.Equal(4, Upstream.Requests);
    }

    [Fact]
    public async Task AHitOnAStreamingRequestIsReplayedAsServerSentEvents()
    {
        using var plain = await PostAsync(Chat("replay me", temperature: 0));
        var text = (await ReadAsync(plain)).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();

        using var streamed = await PostAsync(Chat("replay me", temperature: 0, stream: true, includeUsage: true), completion: HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("hit", Header(streamed, "x-cache"));
        var stream = await ReadStreamAsync(streamed);
        Assert.True(stream.Done);
        Assert.Equal(text, stream.Text);
        Assert.NotNull(stream.Usage);
        Assert.Equal(1, Upstream.Requests);
    }

    [Fact]
    public async Task AStreamedMissFillsTheCacheForLaterRequests()
    {
        using var streamed = await PostAsync(Chat("fill from stream", temperature: 0, stream: true), completion: HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("miss", Header(streamed, "x-cache"));
        var stream = await ReadStreamAsync(streamed);

        using var plain = await PostAsync(Chat("fill from stream", temperature: 0));
        Assert.Equal("hit", Header(plain, "x-cache"));
        Assert.Equal(stream.Text, (await ReadAsync(plain)).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(1, Upstream.Requests);
    }

    [Fact]
    public async Task AnInterruptedStreamIsNotCached()
    {
        Upstream.Enqueue(new Fault(FaultKind.CutStream, Chunks: 2));
        using (var cut = await PostAsync(Chat("partial", temperature: 0, stream: true), completion: HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.NotNull((await ReadStreamAsync(cut)).Error);
        }

        using var again = await PostAsync(Chat("partial", temperature: 0));
        Assert.Equal("miss", Header(again, "x-cache"));
        Assert.Equal(2, Upstream.Requests);
    }

    [Fact]
    public async Task TenConcurrentIdenticalMissesMakeOneUpstreamCall()
    {
        Upstream.Behaviour.Latency = TimeSpan.FromMilliseconds(500);
        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => PostAsync(Chat("stampede", temperature: 0, stream: i % 2 == 0), completion: HttpCompletionOption.ResponseHeadersRead)));
        try
        {
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            Assert.Equal(1, Upstream.Requests);
            Assert.Equal(1, responses.Count(r => Header(r, "x-cache") == "miss"));
            Assert.Equal(9, responses.Count(r => Header(r, "x-cache") == "hit"));
        }
        finally
        {
            foreach (var r in responses)
            {
                r.Dispose();
            }
        }
    }
}

/// <summary>Uses its own Redis, because it stops it. Redis alone: the entries kept in memory are off.</summary>
public class CacheOutageTests : GatewayTest
{
    protected override bool OwnRedis => true;

    protected override Settings Configure(Settings settings) => base.Configure(settings).With("Cache:Local:Enabled", "false");

    [Fact]
    public async Task RedisStoppedMidTestDegradesToUncachedAndTheCacheResumesWhenItReturns()
    {
        using (var warm = await PostAsync(Chat("outage", temperature: 0)))
        using (var hit = await PostAsync(Chat("outage", temperature: 0)))
        {
            Assert.Equal("hit", Header(hit, "x-cache"));
        }

        await Redis.StopAsync();
        for (var i = 0; i < 3; i++)
        {
            using var during = await PostAsync(Chat("outage", temperature: 0));
            Assert.Equal(HttpStatusCode.OK, during.StatusCode);
            Assert.Equal("miss", Header(during, "x-cache"));
            await ReadAsync(during);
        }

        Assert.Equal(4, Upstream.Requests);
        var ready = await ReadyAsync();
        Assert.Equal("Degraded", ready.GetProperty("status").GetString());
        Assert.Equal("Degraded", ready.GetProperty("checks").GetProperty("redis").GetProperty("status").GetString());

        await Redis.StartAsync();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        string? status = null;
        while (DateTime.UtcNow < deadline && status != "hit")
        {
            await Task.Delay(200);
            using var after = await PostAsync(Chat("outage", temperature: 0));
            Assert.Equal(HttpStatusCode.OK, after.StatusCode);
            status = Header(after, "x-cache");
        }

        Assert.Equal("hit", status);
        Assert.Equal("Healthy", (await ReadyAsync()).GetProperty("status").GetString());
    }
}

/// <summary>Hot entries kept in this instance's memory (<c>Cache:Local</c>, on by default) in front of Redis.</summary>
public class LocalCacheTests : GatewayTest
{
    protected override bool OwnRedis => true;

    [Fact]
    public async Task AnEntryReadFromRedisIsAnsweredFromMemoryEvenWhileRedisIsDown()
    {
        await ReadAsync(await PostAsync(Chat("hot", temperature: 0)));
        using (var fromRedis = await PostAsync(Chat("hot", temperature: 0)))
        {
            Assert.Equal("hit", Header(fromRedis, "x-cache"));
        }

        // Written once and never read back: not kept in memory.
        await ReadAsync(await PostAsync(Chat("cold", temperature: 0)));
        Assert.Equal(2, Upstream.Requests);

        await Redis.StopAsync();
        using (var hot = await PostAsync(Chat("hot", temperature: 0)))
        {
            Assert.Equal("hit", Header(hot, "x-cache"));
            Assert.False(string.IsNullOrEmpty((await ReadAsync(hot)).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()));
        }

        using (var streamed = await PostAsync(Chat("hot", temperature: 0, stream: true), completion: HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal("hit", Header(streamed, "x-cache"));
            Assert.True((await ReadStreamAsync(streamed)).Done);
        }

        using (var cold = await PostAsync(Chat("cold", temperature: 0)))
        {
            Assert.Equal("miss", Header(cold, "x-cache"));
        }

        Assert.Equal(3, Upstream.Requests);
    }
}
