using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics.Metrics;
using App.Application.Telemetry;
using App.Application.Traces;
using App.Application.Traffic;
using App.Infrastructure.Hosting;
using App.Infrastructure.Persistence;
using App.Infrastructure.Privacy;
using App.Infrastructure.Security;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Traces;

/// <summary>
/// Writes traces off the request path: requests queue drafts without waiting, and a thread of the writer's own seals
/// them (<see cref="TraceSealer"/>) and inserts them in batches, one statement per tenant so row-level security checks
/// every row (PostgreSQL refuses COPY into tables with row security). A graceful stop writes everything queued, a row
/// PostgreSQL refuses is set aside without costing its batch the other rows, and while the database does not answer
/// the writer waits for it and requests fill the queue (<see cref="TraceLosses"/>). The thread runs at the lowest CPU
/// priority (<c>Traces:LowPriority</c>), so sealing a batch takes only what requests leave of the core; with the queue
/// more than half full, batches are written from the thread pool at the requests' priority until it has caught up,
/// and admission (<see cref="TraceRoom"/>) keeps new calls out while even that is not enough (docs/benchmarks.md).
/// </summary>
public sealed partial class TraceWriter : BackgroundService, ITraceSink
{
    // Once per process, never disposed (see LiveInstances).
    private static readonly Meter Meter = new(MeterNames.Traces);
    private static readonly Counter<long> Written = Meter.CreateCounter<long>("app.traces.written", "{trace}", "Traces stored.");
    private static readonly LiveInstances<TraceWriter> Writers = new();
    private static readonly ObservableGauge<long> QueuedGauge = Meter.CreateObservableGauge("app.traces.queued", () => Writers.Current.Sum(w => (long)w.Queued), "{trace}", "Traces waiting to be written.");

    // Added to the count when the writer closes: a trace is accepted only if the count it raised is below it, so
    // after closing nothing more is accepted, and every trace accepted before is counted until it is taken.
    private const int Closed = 1 << 30;

    private readonly ConcurrentQueue<TraceDraft> _queue = new();
    private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TenantData _data;
    private readonly TraceSealer _sealer;
    private readonly TraceOptions _options;
    private readonly IDisposable _registration;
    private readonly TraceLosses _losses;
    private readonly TraceRoom _room;
    // Traces accepted and not yet taken by the writer (plus Closed once closed). A request that brings it to one or
    // to a full batch wakes the writer; otherwise it sleeps until the flush interval ends.
    private int _queued;
    private int _closing;
    // Traces taken from the queue and not yet stored: with the queue, what a crash now would lose.
    private int _inFlight;
    private TraceLedger? _ledger;
    private Timer? _ledgerTimer;
    private Thread? _thread;

    /// <param name="data">Where traces are stored.</param>
    /// <param name="encryption">Encrypts captured content when the tenant's data key cannot be had.</param>
    /// <param name="options">Capture mode, queue and batch sizes.</param>
    /// <param name="logger">The writer's log.</param>
    /// <param name="traffic">The price table each trace's cost is computed from; without it, no cost is recorded.</param>
    /// <param name="keys">The tenants' data keys, which captured content is encrypted with; without them, the master key ring.</param>
    public TraceWriter(TenantData data, KeyEncryption encryption, IOptions<TraceOptions> options, ILogger<TraceWriter> logger, IOptionsMonitor<TrafficOptions>? traffic = null, TenantKeys? keys = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _data = data;
        _options = options.Value;
        _sealer = new TraceSealer(encryption, keys, _options, traffic);
        _losses = new TraceLosses(logger, TimeProvider.System);
        _room = new TraceRoom(_options.QueueCapacity, _options.AdmissionWait, () => Queued, () => IsClosed);
        _registration = Writers.Add(this);
    }

    /// <summary>Traces lost: the queue was full, the writer had stopped, or storage kept failing.</summary>
    public long Dropped => _losses.Dropped;

    /// <summary>Traces PostgreSQL refused for what they hold, set aside while the rest of their batch was stored.</summary>
    public long Rejected => _losses.Rejected;

    /// <summary>Traces accepted and not yet stored: queued, or in the batch being written.</summary>
    public int Backlog => Queued + Volatile.Read(ref _inFlight);

    /// <summary>The kernel's id of the writer's thread once it runs (Linux), for checking its priority.</summary>
    internal int? ThreadId { get; private set; }

    private int Queued => Volatile.Read(ref _queued) & (Closed - 1);

    private bool IsClosed => Volatile.Read(ref _queued) >= Closed;

    public bool TryRecord(TraceDraft draft)
    {
        ArgumentNullException.ThrowIfNull(draft);
        if (!_options.Enabled)
        {
            return false;
        }

        var queued = Interlocked.Increment(ref _queued);
        if (queued > _options.QueueCapacity)
        {
            Interlocked.Decrement(ref _queued);
            _losses.Drop(1, queued >= Closed ? "writer stopped" : "queue full");
            return false;
        }

        _queue.Enqueue(draft);
        if (queued == 1 || queued == _options.BatchSize)
        {
            _wake.Set();
        }

        return true;
    }

    public ValueTask<bool> WaitForRoomAsync(CancellationToken cancellationToken) =>
        !_options.Enabled ? ValueTask.FromResult(true) : _room.WaitAsync(cancellationToken);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // No new traces; the writer's thread writes what is queued and ends.
        if (Interlocked.Exchange(ref _closing, 1) == 0)
        {
            Interlocked.Add(ref _queued, Closed);
        }

        _wake.Set();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);

        // BackgroundService starts ExecuteAsync on the thread pool and skips it if the stop came first: a host stopped
        // right after it started would then lose what was queued. Whatever the thread did not take is written here.
        if (_thread is null)
        {
            var batch = new List<TraceDraft>(_options.BatchSize);
            while (Queued > 0)
            {
                Take(batch);
                await WriteAsync(batch, synchronously: false).ConfigureAwait(false);
                batch.Clear();
            }

            _losses.Report(now: true);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.LedgerPath is { Length: > 0 } path)
        {
            _ledger = TraceLedger.Open(path);
            if (_ledger.LostBefore is { } lost)
            {
                _losses.LostAtCrash(lost.Waiting, lost.Writing);
            }

            _ledgerTimer = new Timer(_ => _ledger.Note(Queued, Volatile.Read(ref _inFlight), stopped: false), null, TraceLedger.Interval, TraceLedger.Interval);
        }

        // Not the stopping token: a stop closes the queue, and the thread writes what is in it before ending.
        _thread = new Thread(Run) { IsBackground = true, Name = "Trace writer" };
        _thread.Start();
        return _finished.Task;
    }

    private void Run()
    {
        try
        {
            ThreadId = BackgroundPriority.CurrentThreadId();
            var lowered = _options.LowPriority && BackgroundPriority.LowerCurrentThread();
            var batch = new List<TraceDraft>(_options.BatchSize);
            var trimmed = Environment.TickCount64;
            while (true)
            {
                _wake.Reset();
                var queued = Queued;
                if (queued == 0)
                {
                    if (IsClosed)
                    {
                        break;
                    }

                    _wake.Wait();
                    continue;
                }

                // A batch gathers for FlushInterval, or until it is full, or until the stop: one wake-up per interval,
                // not one per trace.
                if (queued < _options.BatchSize && !IsClosed)
                {
                    _wake.Wait(_options.FlushInterval);
                }

                Take(batch);
                if (lowered && Queued > _options.QueueCapacity / 2)
                {
                    // Behind on what the requests leave of the CPU: catch up at their priority, on the thread pool.
                    Task.Run(() => WriteAsync(batch, synchronously: false).AsTask()).GetAwaiter().GetResult();
                }
                else
                {
                    WriteAsync(batch, synchronously: true).AsTask().GetAwaiter().GetResult(); // has completed: it never awaits
                }

                batch.Clear();
                Volatile.Write(ref _inFlight, 0);
                if (Environment.TickCount64 - trimmed >= 1000)
                {
                    // The C heap holds on to the pages this thread frees until they are handed back; now and then rather
                    // than after every batch, since a page handed back and used again costs a fault.
                    NativeHeap.Trim();
                    trimmed = Environment.TickCount64;
                }
            }

            _losses.Report(now: true);
            CloseLedger();
            _finished.SetResult();
        }
        catch (Exception ex)
        {
            _finished.SetException(ex);
        }
    }

    /// <summary>Takes up to a batch of queued traces (fewer if one counted is not in the queue yet).</summary>
    private void Take(List<TraceDraft> batch)
    {
        while (batch.Count < _options.BatchSize && _queue.TryDequeue(out var draft))
        {
            batch.Add(draft);
        }

        Volatile.Write(ref _inFlight, batch.Count);
        Interlocked.Add(ref _queued, -batch.Count);
        _room.Taken(Queued);
    }

    public override void Dispose()
    {
        _registration.Dispose();
        base.Dispose();
    }

    /// <summary>Notes in the ledger that this run stopped with nothing left to store.</summary>
    private void CloseLedger()
    {
        _registration.Dispose();
        _ledgerTimer?.Dispose();
        _ledger?.Note(Queued, 0, stopped: true);
        _ledger?.Dispose();
    }

    /// <summary>
    /// Seals and inserts a batch, one statement per tenant. The writer's thread runs it <paramref name="synchronously"/>
    /// (blocking only itself, so its work stays at its own priority); the thread pool runs it asynchronously.
    /// </summary>
    private async ValueTask WriteAsync(List<TraceDraft> batch, bool synchronously)
    {
        foreach (var tenant in batch.GroupBy(d => d.Record.TenantId, StringComparer.Ordinal))
        {
            await StoreAsync(tenant.Key, tenant.Select(_sealer.Seal).ToArray(), synchronously).ConfigureAwait(false);
        }

        _losses.Report();
    }

    /// <summary>
    /// Stores rows of one tenant. A statement PostgreSQL refuses for what a row holds is split in halves until the
    /// row is alone: that row is set aside (<see cref="TraceLosses"/>) and every other row is stored.
    /// </summary>
    private async ValueTask StoreAsync(string tenant, ArraySegment<TraceRecord> rows, bool synchronously)
    {
        var (failure, stored) = await InsertAsync(tenant, rows, synchronously).ConfigureAwait(false);
        if (failure is null)
        {
            // What PostgreSQL inserted: a trace already stored by an earlier attempt is skipped and not counted again.
            Written.Add(stored);
        }
        else if (TraceLosses.IsCausedByRows(failure))
        {
            if (rows.Count == 1)
            {
                _losses.SetAside(rows[0], failure);
                return;
            }

            var half = rows.Count / 2;
            await StoreAsync(tenant, rows[..half], synchronously).ConfigureAwait(false);
            await StoreAsync(tenant, rows[half..], synchronously).ConfigureAwait(false);
        }
        else
        {
            _losses.Drop(rows.Count, failure.GetType().Name);
        }
    }

    /// <summary>
    /// One insert, tried again while the database does not answer: for as long as the writer runs (requests meanwhile
    /// fill the queue, and only beyond its capacity are traces dropped), a few more times once it is stopping. Returns
    /// what ended the attempts, or null and the number of rows inserted once the rows are stored.
    /// </summary>
    private async ValueTask<(Exception? Failure, int Stored)> InsertAsync(string tenant, ArraySegment<TraceRecord> rows, bool synchronously)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var statement = TraceInsert.Command(rows);
                var stored = synchronously
                    ? _data.Execute(tenant, statement)
                    : await _data.ExecuteAsync(tenant, statement, CancellationToken.None).ConfigureAwait(false);
                return (null, stored);
            }
            catch (Exception ex) when (ex is DbException or TimeoutException or InvalidOperationException or ArgumentException or InvalidCastException)
            {
                var unavailable = DatabaseOutage.IsUnavailable(ex);
                if (TraceLosses.IsCausedByRows(ex) || (unavailable ? IsClosed && attempt >= 3 : attempt >= 3))
                {
                    return (ex, 0);
                }

                var pause = TimeSpan.FromMilliseconds(Math.Min(200 * attempt, 2000));
                if (unavailable)
                {
                    _losses.Waiting(ex);
                }

                if (synchronously)
                {
                    Thread.Sleep(pause);
                }
                else
                {
                    await Task.Delay(pause).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>The loss counters at zero, once the metrics pipeline listens.</summary>
    internal static void Baseline()
    {
        Written.Add(0);
        TraceLosses.Baseline();
    }
}
