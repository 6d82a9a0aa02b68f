namespace App.Infrastructure;

/// <summary>
/// Lets one caller through at most once per interval, however many threads ask: to log an outage once every few
/// seconds rather than on every failed call, or to sweep a full cache at most once a second. The first ask passes.
/// </summary>
internal sealed class Throttle(TimeSpan interval, TimeProvider time)
{
    private long _lastTicks;

    public bool TryPass()
    {
        var now = time.GetTimestamp();
        var last = Interlocked.Read(ref _lastTicks);
        return (last == 0 || time.GetElapsedTime(last, now) >= interval)
            && Interlocked.CompareExchange(ref _lastTicks, now, last) == last;
    }
}
