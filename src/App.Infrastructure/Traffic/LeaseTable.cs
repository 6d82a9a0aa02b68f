using System.Collections.Concurrent;
using App.Application.Traffic;
using App.Infrastructure.Redis;
using StackExchange.Redis;

namespace App.Infrastructure.Traffic;

/// <summary>
/// What this instance knows of each caller and model (<see cref="CallerState"/>): the room its last admission left
/// and the lease it holds. What a lease did not use goes back to Redis when it runs out of time or minute (a sweep
/// every lease time), when its slot passes to another caller, and when the host stops.
/// </summary>
internal sealed class LeaseTable : IDisposable
{
    private static readonly RedisScript GiveBackScript = RedisScript.Load("Traffic/GiveBack.lua");
    private static readonly TimeSpan GiveBackWait = TimeSpan.FromSeconds(2);

    // A fixed table indexed by a hash, read without a lock on every admission: bounded however many callers there
    // are. A slot names its caller, so a collision only forgets (and gives the lease back).
    private readonly CallerState?[] _callers = new CallerState?[4096];
    private readonly IConnectionMultiplexer _redis;
    private readonly TimeProvider _time;
    private readonly LimiterFailures _failures;
    private readonly ITimer _sweeper;
    private readonly ConcurrentDictionary<Task, byte> _givingBack = new();
    private bool _stopped;

    public LeaseTable(IConnectionMultiplexer redis, TimeProvider time, TimeSpan sweepEvery, LimiterFailures failures)
    {
        _redis = redis;
        _time = time;
        _failures = failures;
        _sweeper = time.CreateTimer(_ => Sweep(all: false), null, sweepEvery, sweepEvery);
    }

    /// <summary>True once the host has stopped: no more leases are taken or kept.</summary>
    public bool Stopped => Volatile.Read(ref _stopped);

    /// <summary>
    /// When the host stops (Redis still there): no more leases, and every lease still held is given back, so that
    /// what this instance did not use is free at once for the others.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _sweeper.DisposeAsync().ConfigureAwait(false);
        try
        {
            await GiveBackAll().WaitAsync(GiveBackWait, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // What was not given back stays counted until the minute's keys expire: the limit errs on the safe side.
        }
    }

    /// <summary>Leases taken after the host stopped (or without a host) are given back here, waiting for Redis a moment.</summary>
    public void Dispose()
    {
        _sweeper.Dispose();
        GiveBackAll().Wait(GiveBackWait); // the give-backs never throw
    }

    /// <summary>This caller's entry, if the table holds one; never waits.</summary>
    public CallerState? Find(UsageCaller caller, string alias)
    {
        var state = Volatile.Read(ref _callers[SlotOf(caller, alias)]);
        return state is not null && state.Of(caller, alias) ? state : null;
    }

    /// <summary>This caller's entry in the table; one that held the slot for another caller gives its lease back.</summary>
    public CallerState StateOf(UsageCaller caller, string alias)
    {
        ref var slot = ref _callers[SlotOf(caller, alias)];
        var state = Volatile.Read(ref slot);
        if (state is not null && state.Of(caller, alias))
        {
            return state;
        }

        var mine = new CallerState(caller.Tenant, caller.User, alias);
        var before = Interlocked.CompareExchange(ref slot, mine, state);
        if (before != state)
        {
            // Another call took the slot meanwhile: use its entry if it is this caller's, else go without one.
            return before is not null && before.Of(caller, alias) ? before : mine;
        }

        if (state?.Evict() is { } orphan)
        {
            GiveBack(orphan);
        }

        return mine;
    }

    /// <summary>Sends what a lease did not use back to Redis; kept track of until answered, so that disposing waits for it.</summary>
    public void GiveBack(Lease lease)
    {
        var sending = GiveBackAsync(lease);
        if (!sending.IsCompleted)
        {
            _givingBack.TryAdd(sending, 0);
            _ = sending.ContinueWith((done, self) => ((LeaseTable)self!)._givingBack.TryRemove(done, out _), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>No more leases; every lease still held is sent back. Completes when Redis has answered them all.</summary>
    private Task GiveBackAll()
    {
        Volatile.Write(ref _stopped, true);
        Sweep(all: true);
        return Task.WhenAll(_givingBack.Keys);
    }

    private int SlotOf(UsageCaller caller, string alias) => HashCode.Combine(caller.Tenant, caller.User, alias) & (_callers.Length - 1);

    /// <summary>Gives back the leases that have run out of time or minute (all of them when the process stops).</summary>
    private void Sweep(bool all)
    {
        var window = _time.GetUtcNow().ToUnixTimeMilliseconds() / UsageKeys.WindowMs;
        var now = _time.GetTimestamp();
        foreach (var state in _callers)
        {
            if (state?.Expire(window, now, all) is { } lease)
            {
                GiveBack(lease);
            }
        }
    }

    private async Task GiveBackAsync(Lease lease)
    {
        if (lease.Requests == 0 && lease.Tokens == 0)
        {
            return;
        }

        try
        {
            await GiveBackScript.EvaluateAsync(_redis.GetDatabase(), [lease.RequestKey, lease.TokenKey], [-lease.Requests, -lease.Tokens]).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            // Stays counted until the minute's keys expire: the limit errs on the safe side.
            _failures.Failed("give back", ex);
        }
    }
}
