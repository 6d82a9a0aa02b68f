using System.Globalization;
using Microsoft.Diagnostics.Tracing;

namespace App.Bench;

/// <summary>
/// Lines up an open-loop run's requests (<c>load --timeline</c>) with the gateway's garbage collections (a
/// <c>dotnet-trace</c> of the runtime's GC events taken over the same seconds) and says how much of the tail the
/// collections explain: of the requests at or over the run's p99, how many were in flight while the runtime had
/// every thread stopped; what the p99 is of the requests no pause touched; and, for the slow requests that no pause
/// touched, the episodes they came in (slow requests less than 5 ms apart), to look for what else stalls and how
/// often.
/// </summary>
internal static class TailScenario
{
    public static Task<int> RunAsync(string[] args)
    {
        var files = args.Skip(1).Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && args[i] != "--top").ToArray();
        if (files.Length != 2)
        {
            throw new ArgumentException("usage: App.Bench tail <timeline.csv> <gc.nettrace> [--top N]");
        }

        var top = args.SkipWhile(a => a != "--top").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(30);
        var (pauses, traced, compiled) = ReadTrace(files[1]);
        // Only the requests sent while the trace was recording: outside it no pause would be seen.
        var requests = File.ReadLines(files[0])
            .Select(line => line.Split(','))
            .Select(f => (Start: long.Parse(f[0], CultureInfo.InvariantCulture), Latency: long.Parse(f[1], CultureInfo.InvariantCulture)))
            .Where(r => r.Latency >= 0 && r.Start >= traced.From && r.Start + r.Latency <= traced.To)
            .ToArray();
        if (requests.Length == 0)
        {
            Console.WriteLine("no requests in the timeline");
            return Task.FromResult(1);
        }

        var report = Analyze(requests, pauses);
        var seconds = report.Seconds;
        Console.WriteLine(Invariant($"{report.Requests} requests over {seconds:F1} s; p50 {Ms(report.P50)}, p99 {Ms(report.P99)} ms"));
        var inRun = report.Pauses;
        var pauseMs = inRun.Sum(p => (p.End - p.Start) / 1000.0);
        var others = string.Concat(inRun.Where(p => p.Generation < 0).GroupBy(p => p.Reason).Select(g => Invariant($", {g.Count()} not for a collection ({g.Key}, {g.Average(p => (p.End - p.Start) / 1000.0):F2} ms on average)")));
        Console.WriteLine(Invariant($"{inRun.Count} pauses ({inRun.Count(p => p.Generation == 0)} gen0, {inRun.Count(p => p.Generation == 1)} gen1, {inRun.Count(p => p.Generation == 2)} gen2{others}): one every {seconds * 1000 / Math.Max(1, inRun.Count):F0} ms, {pauseMs / Math.Max(1, inRun.Count):F2} ms each on average (longest {inRun.Select(p => (p.End - p.Start) / 1000.0).DefaultIfEmpty().Max():F2}), {pauseMs / seconds / 10:F2} % of the time"));
        Console.WriteLine(Invariant($"in flight during a pause: {report.Touched} of all requests ({100.0 * report.Touched / report.Requests:F2} %), {report.SlowTouched} of the {report.Slow} at or over p99 ({100.0 * report.SlowTouched / report.Slow:F0} %)"));
        if (report.P99Untouched is { } untouched)
        {
            Console.WriteLine(Invariant($"p99 of the requests no pause touched: {Ms(untouched)} ms ({report.Requests - report.Touched} requests)"));
        }

        Console.WriteLine(Invariant($"slow requests no pause touched: {report.Slow - report.SlowTouched}, in {report.Episodes.Count} episodes (less than 5 ms apart):"));
        Console.WriteLine("  at ms | requests | worst ms | ms since the previous episode");
        foreach (var e in report.Episodes)
        {
            var since = e.SinceMs is { } ms ? Invariant($"{ms:F1}") : "-";
            Console.WriteLine(Invariant($"  {e.AtMs,8:F1} | {e.Requests,3} | {Ms(e.Worst),7} | {since}"));
        }

        if (compiled.Count > 0)
        {
            Console.WriteLine(Invariant($"compiled while traced: {compiled.Values.Sum(c => c.Count)} methods, {compiled.Values.Sum(c => c.Ms):F1} ms from start to end of each; by tier: {string.Join(", ", compiled.GroupBy(c => c.Key[..c.Key.IndexOf(' ', StringComparison.Ordinal)]).Select(g => Invariant($"{g.Key} {g.Sum(c => c.Value.Count)}")))}"));
            foreach (var (key, (count, ms)) in compiled.OrderByDescending(c => c.Value.Ms).Take(top))
            {
                Console.WriteLine(Invariant($"  {ms,7:F2} ms {count,4}x  {key}"));
            }
        }

        return Task.FromResult(0);
    }

    /// <summary>One stop of every thread, in Unix microseconds: for a collection of a generation, or (-1) for another reason.</summary>
    internal readonly record struct Pause(long Start, long End, int Generation, string Reason = "collection");

    /// <summary>Slow requests (at or over the run's p99) that no pause touched and that came less than 5 ms apart.</summary>
    internal readonly record struct Episode(double AtMs, int Requests, long Worst, double? SinceMs);

    /// <summary>What <see cref="Analyze"/> found; latencies in microseconds.</summary>
    internal sealed record TailReport(
        int Requests, double Seconds, long P50, long P99, IReadOnlyList<Pause> Pauses, int Touched, int Slow, int SlowTouched, long? P99Untouched, IReadOnlyList<Episode> Episodes);

    /// <summary>
    /// Lines requests (start and latency, microseconds) up with pauses: a request was touched by a pause when the two
    /// overlap in time, since a request in flight then waits the pause out wherever it is.
    /// </summary>
    internal static TailReport Analyze(IReadOnlyList<(long Start, long Latency)> requests, IReadOnlyList<Pause> pauses)
    {
        ArgumentOutOfRangeException.ThrowIfZero(requests.Count);
        var ordered = requests.OrderBy(r => r.Start).ToArray();
        var from = ordered[0].Start;
        var to = ordered.Max(r => r.Start + r.Latency);
        var inRun = pauses.Where(p => p.End >= from && p.Start <= to).ToList();
        var touched = ordered.Select(r => inRun.Any(p => p.Start <= r.Start + r.Latency && p.End >= r.Start)).ToArray();

        var latencies = ordered.Select(r => r.Latency).Order().ToArray();
        var p99 = Percentile(latencies, 0.99);
        var slow = Enumerable.Range(0, ordered.Length).Where(i => ordered[i].Latency >= p99).ToArray();
        var untouched = Enumerable.Range(0, ordered.Length).Where(i => !touched[i]).Select(i => ordered[i].Latency).Order().ToArray();
        var episodes = new List<Episode>();
        var last = (Start: 0L, First: 0L);
        foreach (var r in slow.Where(i => !touched[i]).Select(i => ordered[i]))
        {
            if (episodes.Count > 0 && r.Start - last.Start < 5_000)
            {
                var e = episodes[^1];
                episodes[^1] = e with { Requests = e.Requests + 1, Worst = Math.Max(e.Worst, r.Latency) };
            }
            else
            {
                episodes.Add(new Episode((r.Start - from) / 1000.0, 1, r.Latency, episodes.Count > 0 ? (r.Start - last.First) / 1000.0 : null));
                last.First = r.Start;
            }

            last.Start = r.Start;
        }

        return new TailReport(
            ordered.Length, (to - from) / 1e6, Percentile(latencies, 0.5), p99, inRun, touched.Count(t => t), slow.Length,
            slow.Count(i => touched[i]), untouched.Length > 0 ? Percentile(untouched, 0.99) : null, episodes);
    }

    private static long Percentile(long[] sorted, double quantile) => sorted[Math.Max(0, (int)Math.Ceiling(sorted.Length * quantile) - 1)];

    /// <summary>
    /// From a runtime trace: each time the runtime stopped the process's threads (from the suspension's start to the
    /// restart's end), the span the trace covers, and, when it has the JIT keyword, the methods compiled meanwhile
    /// (by tier and name: how many times, and the time from each one's start to its end).
    /// </summary>
    private static (List<Pause> Pauses, (long From, long To) Traced, Dictionary<string, (int Count, double Ms)> Compiled) ReadTrace(string nettrace)
    {
        var pauses = new List<Pause>();
        using var source = new EventPipeEventSource(nettrace);
        long? suspended = null;
        var generation = -1;
        var reason = string.Empty;
        source.Clr.GCSuspendEEStart += e => (suspended, generation, reason) = (UnixMicros(e.TimeStamp), -1, e.Reason.ToString());
        source.Clr.GCStart += e => generation = e.Depth;
        source.Clr.GCRestartEEStop += e =>
        {
            // The runtime also stops every thread for other reasons than a collection (generation -1 here).
            if (suspended is { } start)
            {
                pauses.Add(new Pause(start, UnixMicros(e.TimeStamp), generation, generation >= 0 ? "collection" : reason));
            }

            suspended = null;
        };
        // Methods the JIT compiled meanwhile (when the trace has the JIT keyword): its background thread takes the core too.
        var compiled = new Dictionary<string, (int Count, double Ms)>(StringComparer.Ordinal);
        var jitting = new Dictionary<long, (DateTime At, string Name)>();
        source.Clr.MethodJittingStarted += e => jitting[e.MethodID] = (e.TimeStamp, e.MethodNamespace + "." + e.MethodName);
        source.Clr.MethodLoadVerbose += e =>
        {
            if (jitting.Remove(e.MethodID, out var started))
            {
                var key = $"{e.OptimizationTier}  {started.Name}";
                var (count, ms) = compiled.GetValueOrDefault(key);
                compiled[key] = (count + 1, ms + (e.TimeStamp - started.At).TotalMilliseconds);
            }
        };
        source.Process();
        return (pauses, (UnixMicros(source.SessionStartTime), UnixMicros(source.SessionEndTime)), compiled);
    }

    private static long UnixMicros(DateTime at) => (at.ToUniversalTime() - DateTime.UnixEpoch).Ticks / 10;

    private static string Ms(long micros) => (micros / 1000.0).ToString("F2", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
