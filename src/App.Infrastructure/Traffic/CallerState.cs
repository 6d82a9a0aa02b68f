using App.Application.Traffic;

namespace App.Infrastructure.Traffic;

/// <summary>
/// One caller and model on this instance: the overlap hint, how many calls it made lately (which sizes its
/// leases) and the lease it holds. Everything but the hint is read and written under the entry's lock.
/// </summary>
internal sealed class CallerState(string tenant, string user, string alias)
{
    private long _roomUntil;
    private long _periodStart;
    private int _current, _previous;
    private Lease? _lease;
    private TaskCompletionSource? _arrival;
    private bool _asking, _evicted;

    /// <summary>Until when (a timestamp) the caller's last admission left room for its next call to overlap it.</summary>
    public long RoomUntil
    {
        get => Volatile.Read(ref _roomUntil);
        set => Volatile.Write(ref _roomUntil, value);
    }

    public bool Of(UsageCaller caller, string model) =>
        string.Equals(tenant, caller.Tenant, StringComparison.Ordinal)
        && string.Equals(user, caller.User, StringComparison.Ordinal)
        && string.Equals(alias, model, StringComparison.Ordinal);

    /// <summary>
    /// Counts the call and takes it from the lease when the lease is of this minute, in time, and has a call
    /// and the tokens left. Says how many calls to ask Redis for: with the call when it could not be taken, for
    /// the next lease when this one is half used; a quarter of what this caller sent here in the last one to
    /// two lease times, at most <paramref name="most"/> (a lease lasts well under a lease time at a steady
    /// rate, and a caller that sends a call now and then gets none); only one request for a lease at a time.
    /// Hands back a lease that has run out of time or minute, to be given back.
    /// </summary>
    public LeaseTake TryTake(long window, long tokens, long now, long leaseTicks, int most, bool counted)
    {
        lock (this)
        {
            if (now - _periodStart >= leaseTicks)
            {
                _previous = now - _periodStart < 2 * leaseTicks ? _current : 0;
                _current = 0;
                _periodStart = now;
            }

            if (!counted)
            {
                _current++;
            }

            Lease? expired = null;
            if (_lease is { } lease)
            {
                if (lease.Window != window || lease.Until <= now)
                {
                    (expired, _lease) = (lease, null);
                }
                else if (lease.Requests >= 1 && lease.Tokens >= tokens)
                {
                    lease.Requests--;
                    lease.Tokens -= tokens;
                    lease.RequestsLeft--;
                    lease.TokensLeft -= tokens;
                    var refill = lease.Requests * 2 <= lease.Size ? Ask(most) : 0;
                    return new LeaseTake(lease, lease.RequestsLeft, lease.TokensLeft, refill, null);
                }
            }

            if (_asking && !counted && expired is null)
            {
                _arrival ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return new LeaseTake(null, 0, 0, 0, null, _arrival.Task);
            }

            return new LeaseTake(null, 0, 0, Ask(most), expired);
        }
    }

    private int Ask(int most)
    {
        if (_asking)
        {
            return 0;
        }

        var ask = Math.Min(most, (_current + _previous) / 4);
        _asking = ask > 0;
        return ask;
    }

    /// <summary>
    /// The answer to this entry's request for a lease: holds the lease Redis granted, if it granted one, and
    /// answers one to give back (the one it replaces, or the new one if this entry has left the table).
    /// </summary>
    public Lease? Hold(Lease? lease)
    {
        TaskCompletionSource? arrival;
        lock (this)
        {
            _asking = false;
            (arrival, _arrival) = (_arrival, null);
            var displaced = Keep(lease);
            arrival?.SetResult(); // the calls waiting for this answer try the lease again (continuations run elsewhere)
            return displaced;
        }
    }

    private Lease? Keep(Lease? lease)
    {
        if (lease is null)
        {
            return null;
        }

        if (_evicted)
        {
            return lease;
        }

        if (_lease is { } held && held.Window == lease.Window)
        {
            // The next lease, asked for while this one still served: one lease with both.
            held.Requests += lease.Requests;
            held.Size = held.Requests;
            held.Tokens += lease.Tokens;
            held.Until = Math.Max(held.Until, lease.Until);
            (held.RequestsLeft, held.TokensLeft) = (lease.RequestsLeft, lease.TokensLeft);
            return null;
        }

        var displaced = _lease;
        _lease = lease;
        return displaced;
    }

    public Lease? Expire(long window, long now, bool all)
    {
        lock (this)
        {
            if (_lease is { } lease && (all || lease.Window != window || lease.Until <= now))
            {
                _lease = null;
                return lease;
            }

            return null;
        }
    }

    public Lease? Evict()
    {
        lock (this)
        {
            _evicted = true;
            var lease = _lease;
            _lease = null;
            return lease;
        }
    }
}
