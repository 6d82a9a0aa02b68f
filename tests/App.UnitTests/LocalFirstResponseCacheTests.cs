using App.Application.Caching;
using App.Infrastructure.Caching;

namespace App.UnitTests;

/// <summary>Hot cache entries kept in memory in front of the shared store (<c>Cache:Local</c>).</summary>
public class LocalFirstResponseCacheTests
{
    private static readonly TimeSpan StoreTtl = TimeSpan.FromHours(1);

    private readonly ManualClock _clock = new();
    private readonly CountingStore _store = new();

    [Fact]
    public async Task AnEntryReadFromTheStoreIsAnsweredFromMemoryUntilItsLocalTtlEnds()
    {
        using var cache = Create(new LocalCacheOptions { Ttl = TimeSpan.FromSeconds(10) });
        _store.Put("k", Answer("hello"));

        Assert.Equal("hello", (await cache.GetAsync("k", default))?.Text);
        Assert.Equal("hello", (await cache.GetAsync("k", default))?.Text);
        Assert.Equal("hello", (await cache.GetAsync("k", default))?.Text);
        Assert.Equal(1, _store.Reads);

        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("hello", (await cache.GetAsync("k", default))?.Text);
        Assert.Equal(2, _store.Reads);
    }

    [Fact]
    public async Task AnEntryDeletedFromTheStoreIsSeenGoneAtMostOneLocalTtlLater()
    {
        using var cache = Create(new LocalCacheOptions { Ttl = TimeSpan.FromSeconds(5) });
        _store.Put("k", Answer("hello"));
        await cache.GetAsync("k", default);

        _store.Delete("k");
        _clock.Advance(TimeSpan.FromSeconds(4));
        Assert.NotNull(await cache.GetAsync("k", default));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await cache.GetAsync("k", default));
        Assert.Equal(0, cache.Count);
        Assert.Equal(0, cache.Bytes);
    }

    [Fact]
    public async Task AWriteGoesToTheStoreOnlyAndAMissKeepsNothing()
    {
        using var cache = Create(new LocalCacheOptions());
        await cache.SetAsync("written", Answer("once"), StoreTtl, default);
        Assert.Null(await cache.GetAsync("absent", default));
        Assert.Equal(0, cache.Count);

        Assert.NotNull(await cache.GetAsync("written", default));
        Assert.Equal(2, _store.Reads); // the miss, then the written entry from the store
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public async Task AnEntryIsNeverKeptPastItsExpiryInTheStore()
    {
        using var cache = Create(new LocalCacheOptions { Ttl = TimeSpan.FromSeconds(10) });
        // Stored an hour minus 2 s ago: Redis drops it in 2 s, so memory must not answer for it after that.
        _store.Put("old", Answer("old", createdAgo: StoreTtl - TimeSpan.FromSeconds(2)));
        await cache.GetAsync("old", default);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await cache.GetAsync("old", default);
        Assert.Equal(1, _store.Reads);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await cache.GetAsync("old", default);
        Assert.Equal(2, _store.Reads);

        // Older than the store's TTL (a clock ahead elsewhere): never kept.
        _store.Put("stale", Answer("stale", createdAgo: StoreTtl + TimeSpan.FromSeconds(1)));
        await cache.GetAsync("stale", default);
        await cache.GetAsync("stale", default);
        Assert.Equal(4, _store.Reads);
    }

    [Fact]
    public async Task MemoryStaysWithinMaxBytesAndExpiredEntriesMakeRoom()
    {
        var text = new string('x', 1000);
        using var cache = Create(new LocalCacheOptions { Ttl = TimeSpan.FromSeconds(10), MaxBytes = 5000 }); // two entries of ~2.3 KB
        foreach (var key in new[] { "a", "b", "c" })
        {
            _store.Put(key, Answer(text));
            await cache.GetAsync(key, default);
        }

        Assert.Equal(2, cache.Count);
        Assert.InRange(cache.Bytes, 4000, 5000);
        var reads = _store.Reads;
        await cache.GetAsync("a", default);
        await cache.GetAsync("b", default);
        Assert.Equal(reads, _store.Reads);
        await cache.GetAsync("c", default);
        Assert.Equal(reads + 1, _store.Reads); // no room for it

        // Once the first two expire, the next entry read finds room: the full cache sweeps them out.
        _clock.Advance(TimeSpan.FromSeconds(11));
        await cache.GetAsync("c", default);
        Assert.Equal(1, cache.Count);
        reads = _store.Reads;
        await cache.GetAsync("c", default);
        Assert.Equal(reads, _store.Reads);

        // An entry larger than the whole budget is never kept.
        _store.Put("huge", Answer(new string('y', 5000)));
        await cache.GetAsync("huge", default);
        await cache.GetAsync("huge", default);
        Assert.Equal(reads + 2, _store.Reads);
    }

    [Fact]
    public async Task TurnedOffEveryReadGoesToTheStore()
    {
        using var cache = Create(new LocalCacheOptions { Enabled = false });
        _store.Put("k", Answer("hello"));
        for (var i = 0; i < 3; i++)
        {
            Assert.NotNull(await cache.GetAsync("k", default));
        }

        Assert.Equal(3, _store.Reads);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task ManyReadersOfOneKeyKeepOneEntryAndCountItsBytesOnce()
    {
        using var cache = Create(new LocalCacheOptions());
        _store.Put("k", Answer("hello"));
        _store.Delay = TimeSpan.FromMilliseconds(20);
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => cache.GetAsync("k", default).AsTask()));
        Assert.Equal(1, cache.Count);
        var one = cache.Bytes;
        _clock.Advance(TimeSpan.FromSeconds(11));
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => cache.GetAsync("k", default).AsTask()));
        Assert.Equal(1, cache.Count);
        Assert.Equal(one, cache.Bytes);
    }

    private LocalFirstResponseCache Create(LocalCacheOptions local) =>
        new(_store, new StaticOptions<CacheOptions>(new CacheOptions { Ttl = StoreTtl, Local = local }), _clock);

    private CachedCompletion Answer(string text, TimeSpan createdAgo = default) =>
        new(text, "stop", "m", 3, 5, _clock.GetUtcNow() - createdAgo);

    private sealed class CountingStore : IResponseCache
    {
        private readonly Dictionary<string, CachedCompletion> _entries = [];
        private int _reads;

        public int Reads => Volatile.Read(ref _reads);

        public TimeSpan Delay { get; set; }

        public void Put(string key, CachedCompletion value)
        {
            lock (_entries)
            {
                _entries[key] = value;
            }
        }

        public void Delete(string key)
        {
            lock (_entries)
            {
                _entries.Remove(key);
            }
        }

        public async ValueTask<CachedCompletion?> GetAsync(string key, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _reads);
            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay, cancellationToken);
            }

            lock (_entries)
            {
                return _entries.GetValueOrDefault(key);
            }
        }

        public ValueTask SetAsync(string key, CachedCompletion value, TimeSpan ttl, CancellationToken cancellationToken)
        {
            Put(key, value);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(Interlocked.Read(ref _ticks));

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}
