namespace App.Application.Telemetry;

/// <summary>
/// The live instances whose state a process-wide observable instrument reads. Instruments are created once per
/// process and never disposed: the OpenTelemetry SDK merges identical instruments into one stream, and disposing any
/// of them (a host stopping while another runs on, as in the test process) ends that stream for all of them.
/// </summary>
public sealed class LiveInstances<T>
    where T : class
{
    private readonly Lock _gate = new();
    private T[] _items = [];

    /// <summary>What is alive now; a copy, safe to enumerate while instances come and go.</summary>
    public IReadOnlyList<T> Current => Volatile.Read(ref _items);

    /// <summary>Adds an instance; disposing the result removes it.</summary>
    public IDisposable Add(T item)
    {
        ArgumentNullException.ThrowIfNull(item);
        lock (_gate)
        {
            _items = [.. _items, item];
        }

        return new Removal(this, item);
    }

    private void Remove(T item)
    {
        lock (_gate)
        {
            _items = [.. _items.Where(i => !ReferenceEquals(i, item))];
        }
    }

    private sealed class Removal(LiveInstances<T> owner, T item) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                owner.Remove(item);
            }
        }
    }
}
