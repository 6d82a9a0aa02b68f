using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics.Metrics;
using App.Application.Telemetry;
using App.Application.Traces;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace App.Infrastructure.Traces;

/// <summary>
/// What the trace writer did not store, counted as it happens (<c>app.traces.dropped</c> by reason,
/// <c>app.traces.rejected</c>) and logged at most once per interval with the counts: under load a per-trace line
/// would be the loudest thing in the log.
/// </summary>
internal sealed partial class TraceLosses
{
    private static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(10);
    private const int TraceIdsPerReport = 10;

    // Once per process, never disposed (see LiveInstances).
    private static readonly Meter Meter = new(MeterNames.Traces);
    private static readonly Counter<long> DroppedCount = Meter.CreateCounter<long>("app.traces.dropped", "{trace}", "Traces lost, by app.traces.reason: queue full, writer stopped, or storage failing past retries.");
    private static readonly Counter<long> RejectedCount = Meter.CreateCounter<long>("app.traces.rejected", "{trace}", "Traces PostgreSQL refused for what they hold, set aside so that the rest of their batch is stored.");
    private static readonly Counter<long> LostAtCrashCount = Meter.CreateCounter<long>("app.traces.lost_at_crash", "{trace}", "Traces the previous run accepted and never stored because it ended without a graceful stop (those waiting in its queue, as noted up to 50 ms before; counted at start from Traces:LedgerPath).");
    private readonly ILogger _logger;
    private readonly Throttle _report;
    private readonly Throttle _waiting;
    private readonly ConcurrentDictionary<string, long> _droppedSinceReport = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _rejectedIds = new();
    private readonly ConcurrentDictionary<string, long> _rejectedSinceReport = new(StringComparer.Ordinal);
    private long _droppedTotal;
    private long _rejectedTotal;

    public TraceLosses(ILogger logger, TimeProvider time)
    {
        _logger = logger;
        _report = new Throttle(ReportInterval, time);
        _waiting = new Throttle(ReportInterval, time);
    }

    public long Dropped => Interlocked.Read(ref _droppedTotal);

    public long Rejected => Interlocked.Read(ref _rejectedTotal);

    /// <summary>
    /// True when the rows themselves are the cause, so that the same statement would fail again however often it is
    /// tried: PostgreSQL refused the data (SQLSTATE classes 22 and 23), or Npgsql could not encode a value.
    /// </summary>
    public static bool IsCausedByRows(Exception exception) => exception switch
    {
        PostgresException p => p.SqlState.StartsWith("22", StringComparison.Ordinal) || p.SqlState.StartsWith("23", StringComparison.Ordinal),
        DbException or TimeoutException or InvalidOperationException => false,
        ArgumentException or InvalidCastException => true,
        _ => false,
    };

    /// <summary>Every counter at zero, so that a rule sees "none lost" instead of no series at all.</summary>
    public static void Baseline()
    {
        DroppedCount.Add(0, new KeyValuePair<string, object?>("app.traces.reason", "queue full"));
        DroppedCount.Add(0, new KeyValuePair<string, object?>("app.traces.reason", "writer stopped"));
        RejectedCount.Add(0);
        LostAtCrashCount.Add(0);
    }

    public void Drop(int count, string reason)
    {
        Interlocked.Add(ref _droppedTotal, count);
        DroppedCount.Add(count, new KeyValuePair<string, object?>("app.traces.reason", reason));
        _droppedSinceReport.AddOrUpdate(reason, count, (_, n) => n + count);
    }

    /// <summary>A row refused for what it holds: counted and named by its trace id, never by its content.</summary>
    public void SetAside(TraceRecord row, Exception why)
    {
        ArgumentNullException.ThrowIfNull(row);
        Interlocked.Increment(ref _rejectedTotal);
        RejectedCount.Add(1);
        var reason = why is PostgresException p ? "SQLSTATE " + p.SqlState : why.GetType().Name;
        _rejectedSinceReport.AddOrUpdate(reason, 1, (_, n) => n + 1);
        if (_rejectedIds.Count < TraceIdsPerReport)
        {
            _rejectedIds.Enqueue(row.TraceId ?? row.Id.ToString("N"));
        }
    }

    /// <summary>What the previous run lost when it ended without a graceful stop, as its ledger says.</summary>
    public void LostAtCrash(long waiting, long writing)
    {
        if (waiting + writing == 0)
        {
            return;
        }

        LostAtCrashCount.Add(waiting);
        LogLostAtCrash(waiting, writing);
    }

    /// <summary>The database did not answer and the writer waits for it, holding what it has.</summary>
    public void Waiting(Exception why)
    {
        if (_waiting.TryPass())
        {
            LogWaiting(why.GetType().Name, why.Message);
        }
    }

    /// <summary>Logs what was lost since the last report, once per interval at most (or now, at the end).</summary>
    public void Report(bool now = false)
    {
        if ((_droppedSinceReport.IsEmpty && _rejectedSinceReport.IsEmpty) || !(now || _report.TryPass()))
        {
            return;
        }

        var dropped = Take(_droppedSinceReport);
        if (dropped.Count > 0)
        {
            LogDropped(dropped.Sum(d => d.Value), string.Join(", ", dropped.Select(d => $"{d.Key}: {d.Value}")));
        }

        var rejected = Take(_rejectedSinceReport);
        if (rejected.Count > 0)
        {
            var ids = new List<string>();
            while (_rejectedIds.TryDequeue(out var id))
            {
                ids.Add(id);
            }

            LogSetAside(rejected.Sum(r => r.Value), string.Join(", ", rejected.Select(r => $"{r.Key}: {r.Value}")), string.Join(' ', ids));
        }
    }

    private static List<KeyValuePair<string, long>> Take(ConcurrentDictionary<string, long> counts)
    {
        var taken = new List<KeyValuePair<string, long>>();
        foreach (var key in counts.Keys)
        {
            if (counts.TryRemove(key, out var count))
            {
                taken.Add(new(key, count));
            }
        }

        return taken;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped {Count} trace(s) since the last report ({Reasons})")]
    private partial void LogDropped(long count, string reasons);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Set aside {Count} trace(s) that PostgreSQL refused for what they hold ({Reasons}); the rest of their batches were stored. Trace ids: {TraceIds}")]
    private partial void LogSetAside(long count, string reasons, string traceIds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The previous run ended without a graceful stop: {Waiting} accepted trace(s) were waiting to be written and are lost; {Writing} were being written and are lost unless PostgreSQL committed them")]
    private partial void LogLostAtCrash(long waiting, long writing);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL does not answer ({ErrorType}: {Error}); traces wait in the queue and are written when it does")]
    private partial void LogWaiting(string errorType, string error);
}
