using System.Collections.Concurrent;

namespace App.Infrastructure.Caching;

/// <summary>
/// Entries kept in this process's memory in front of Redis (<c>Cache:Local</c>), each until its own time, within a
/// byte budget: when full, a new entry is not kept until expired ones leave (swept on a timer, and at once, at most
/// every second, when an entry finds no room), so the entries that were hot first keep their place for at most their
/// time. The response cache and the embedding cache each hold one.
/// </summary>
internal sealed class HotEntries<T> : IDisposable
    where T : class
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly ITimer _sweeper;
    private readonly Throttle _sweepWhenFull;
    private readonly IDisposable _registration;
    private readonly HotBytes _bytes = new();

    public HotEntries(TimeProvider time, TimeSpan sweepEvery)
    {
        _time = time;
        _sweepWhenFull = new Throttle(TimeSpan.FromSeconds(1), time);
        _registration = HotBytes.Instances.Add(_bytes);
        var every = sweepEvery < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : sweepEvery;
        _sweeper = time.CreateTimer(_ => Sweep(), null, every, every);
    }

    /// <summary>What the kept entries take, as estimated by their callers.</summary>
    public long Bytes => Interlocked.Read(ref _bytes.Value);

    public int Count => _entries.Count;

    public bool TryGet(string key, out T value)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            if (entry.Until > _time.GetUtcNow())
            {
                value = entry.Value;
                return true;
            }

            Remove(key, entry);
        }

        value = null!;
        return false;
    }

    /// <summary>Keeps the entry until <paramref name="until"/>, if it fits in <paramref name="maxBytes"/>.</summary>
    public void Keep(string key, T value, DateTimeOffset until, long size, long maxBytes)
    {
        var now = _time.GetUtcNow();
        if (until <= now || size > maxBytes)
        {
            return;
        }

        if (!Reserve(size, maxBytes))
        {
            if (_sweepWhenFull.TryPass())
            {
                Sweep();
            }

            if (!Reserve(size, maxBytes))
            {
                return;
            }
        }

        var entry = new Entry(value, until, size);
        while (!_entries.TryAdd(key, entry))
        {
            if (_entries.TryGetValue(key, out var present) && present.Until > now)
            {
                // Another call kept it a moment ago.
                Interlocked.Add(ref _bytes.Value, -size);
                return;
            }

            if (present is not null)
            {
                Remove(key, present);
            }
        }
    }

    public void Dispose()
    {
        _registration.Dispose();
        _sweeper.Dispose();
    }

    private bool Reserve(long size, long max)
    {
        if (Interlocked.Add(ref _bytes.Value, size) <= max)
        {
            return true;
        }

        Interlocked.Add(ref _bytes.Value, -size);
        return false;
    }

    private void Remove(string key, Entry entry)
    {
        if (_entries.TryRemove(new KeyValuePair<string, Entry>(key, entry)))
        {
            Interlocked.Add(ref _bytes.Value, -entry.Size);
        }
    }

    private void Sweep()
    {
        var now = _time.GetUtcNow();
        foreach (var (key, entry) in _entries)
        {
            if (entry.Until <= now)
            {
                Remove(key, entry);
            }
        }
    }

    private sealed record Entry(T Value, DateTimeOffset Until, long Size);
}
