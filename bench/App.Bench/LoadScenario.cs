using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using HdrHistogram;

namespace App.Bench;

/// <summary>
/// An HTTP load generator for chat completions. Closed loop: N connections send back to back. Open loop: requests
/// are fired on a fixed schedule whatever the answers do, and latency is measured from each request's intended
/// send time, so a slow server cannot hide its queueing (no coordinated omission). Records into HdrHistogram and
/// prints p50/p90/p99/p99.9, throughput, errors, and, given the server's pid, its CPU seconds per 1,000 requests
/// and peak resident memory. Streaming runs also record time to first token and the largest gap between chunks.
/// </summary>
internal static class LoadScenario
{
    private const long MaxTicks = 60L * 10_000_000; // 60 s in ticks

    private sealed class Recorder
    {
        private readonly Lock _lock = new();

        public LongHistogram Latency { get; } = new(MaxTicks, 3);

        public LongHistogram FirstToken { get; } = new(MaxTicks, 3);

        public LongHistogram ChunkGap { get; } = new(MaxTicks, 3);

        // The gateway's own time per request as its Server-Timing header states it (gw;dur=, ms), in 100 ns ticks.
        public LongHistogram Gateway { get; } = new(MaxTicks, 3);

        // --timeline: every request's intended send time (Stopwatch ticks) and latency (100 ns ticks), in order of completion.
        public List<(long Start, long Latency)>? Timeline { get; init; }

        public long Ok { get; private set; }

        public long Errors { get; private set; }

        // Failed requests by status code, 0 for a request that got no answer (refused, reset, timed out).
        public SortedDictionary<int, long> Failures { get; } = [];

        public void Record(long intendedStart, long latencyTicks, long? firstTokenTicks, long? maxGapTicks, long? gatewayTicks, int status)
        {
            var ok = status is >= 200 and < 300;
            lock (_lock)
            {
                Timeline?.Add((intendedStart, ok ? latencyTicks : -1));
                if (!ok)
                {
                    Errors++;
                    Failures[status] = Failures.GetValueOrDefault(status) + 1;
                    return;
                }

                Ok++;
                Latency.RecordValue(Math.Min(latencyTicks, MaxTicks));
                if (firstTokenTicks is { } f)
                {
                    FirstToken.RecordValue(Math.Min(f, MaxTicks));
                }

                if (maxGapTicks is { } g)
                {
                    ChunkGap.RecordValue(Math.Min(g, MaxTicks));
                }

                if (gatewayTicks is { } gw)
                {
                    Gateway.RecordValue(Math.Min(gw, MaxTicks));
                }
            }
        }
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var url = new Uri(Args.Text(args, "--url") ?? "http://127.0.0.1:5080/v1/chat/completions");
        // --token-file: a file holding the bearer token, read again every 15 s, so a run can outlast one token's
        // lifetime (at most 5 minutes) while something else (bench/run.sh) writes fresh ones.
        var token = Args.Text(args, "--token");
        var tokenFile = Args.Text(args, "--token-file");
        if (tokenFile is not null)
        {
            token = (await File.ReadAllTextAsync(tokenFile)).Trim();
        }
        var model = Args.Text(args, "--model") ?? "bench";
        // --method GET: a request without a body (GET /v1/models, say), for the routes that call no model.
        var get = string.Equals(Args.Text(args, "--method"), "GET", StringComparison.OrdinalIgnoreCase);
        var open = (Args.Text(args, "--mode") ?? "closed") == "open";
        var rate = Args.Int(args, "--rate", 1000);
        // Spike profile (open loop): --spike-rate R from --spike-at S seconds for --spike-seconds D, then back to --rate.
        var spikeRate = Args.Int(args, "--spike-rate", 0);
        var spikeAt = TimeSpan.FromSeconds(Args.Int(args, "--spike-at", 0));
        var spikeFor = TimeSpan.FromSeconds(Args.Int(args, "--spike-seconds", 0));
        var connections = Args.Int(args, "--connections", 16);
        // Closed loop: connection i starts i x --stagger-ms after the phase begins. Streams of one length that start
        // together end together and start again together, so without it every stream after the first round starts
        // in a burst of N at once, and time to first token measures that burst, not N streams in flight.
        var stagger = TimeSpan.FromMilliseconds(Args.Int(args, "--stagger-ms", 0));
        var duration = TimeSpan.FromSeconds(Args.Int(args, "--duration", 10));
        var warmup = TimeSpan.FromSeconds(Args.Int(args, "--warmup", 2));
        var stream = Args.Flag(args, "--stream");
        var deterministic = Args.Flag(args, "--deterministic");
        var label = Args.Text(args, "--label") ?? url.Authority;
        // --timeline FILE: writes every measured request as "start,latency,monotonic start" in microseconds: the start as
        // Unix time, which App.Bench tail lines up with the gateway's collections, and as CLOCK_MONOTONIC, the clock of
        // `perf sched record -k mono` on Linux.
        var timelineFile = Args.Text(args, "--timeline");
        var pid = Args.Text(args, "--pid") is { } p ? int.Parse(p, CultureInfo.InvariantCulture) : (int?)null;
        // --header "Name: value", repeatable: what another gateway needs to route a request (its provider, its upstream).
        var headers = Args.All(args, "--header").Select(h => (Name: h[..h.IndexOf(':', StringComparison.Ordinal)].Trim(), Value: h[(h.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim())).ToList();

        using var rereading = new CancellationTokenSource();
        var reread = tokenFile is null ? Task.CompletedTask : RereadTokenAsync(tokenFile, t => Volatile.Write(ref token, t), rereading.Token);

        // The generator must not be the bottleneck it measures: threads ready for bursts of completions.
        ThreadPool.SetMinThreads(64, 64);
        using var http = new HttpClient(new SocketsHttpHandler
        {
            // Open loop: enough connections for the rate, reused (new connections mid-run would be measured as latency).
            MaxConnectionsPerServer = open ? Math.Max(connections, 256) : connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        })
        { Timeout = TimeSpan.FromSeconds(60) };

        var counter = 0L;
        byte[] Body()
        {
            // Deterministic: one request the cache can answer. Otherwise a new prompt each time, so nothing is cached.
            var n = deterministic ? 0 : Interlocked.Increment(ref counter);
            var json = $$"""{"model":"{{model}}","messages":[{"role":"user","content":"benchmark request {{n}}"}]{{(deterministic ? ",\"temperature\":0" : ",\"temperature\":0.7")}}{{(stream ? ",\"stream\":true" : string.Empty)}}}""";
            return Encoding.UTF8.GetBytes(json);
        }

        async Task SendAsync(Recorder recorder, long intendedStart)
        {
            using var request = get ? new HttpRequestMessage(HttpMethod.Get, url) : new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(Body()) };
            if (request.Content is not null)
            {
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            }
            if (Volatile.Read(ref token) is { } bearer)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            }

            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            long? first = null;
            long? maxGap = null;
            long? gateway = null;
            var status = 0;
            try
            {
                using var response = await http.SendAsync(request, stream ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead);
                status = (int)response.StatusCode;
                var ok = response.IsSuccessStatusCode;
                gateway = GatewayTicks(response);
                if (ok && stream)
                {
                    await using var body = await response.Content.ReadAsStreamAsync();
                    using var reader = new StreamReader(body);
                    var last = 0L;
                    while (await reader.ReadLineAsync() is { } line)
                    {
                        if (line.Contains("\"content\":\"", StringComparison.Ordinal) && !line.Contains("\"content\":\"\"", StringComparison.Ordinal))
                        {
                            var now = Stopwatch.GetTimestamp();
                            first ??= now - intendedStart;
                            if (last != 0)
                            {
                                maxGap = Math.Max(maxGap ?? 0, now - last);
                            }

                            last = now;
                        }
                    }
                }
                else
                {
                    await response.Content.CopyToAsync(Stream.Null);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
            {
                status = status is >= 200 and < 300 ? 0 : status;
            }

            recorder.Record(intendedStart, ToTicks(Stopwatch.GetTimestamp() - intendedStart), first is { } f ? ToTicks(f) : null, maxGap is { } g ? ToTicks(g) : null, gateway, status);
        }

        List<Task> Fire(Recorder recorder, long end)
        {
            var start = Stopwatch.GetTimestamp();
            var spikeFrom = start + (long)(spikeAt.TotalSeconds * Stopwatch.Frequency);
            var spikeTo = spikeFrom + (long)(spikeFor.TotalSeconds * Stopwatch.Frequency);
            double Interval(long at) => Stopwatch.Frequency / (double)(spikeRate > 0 && at >= spikeFrom && at < spikeTo ? spikeRate : rate);
            var inflight = new List<Task>();
            var dueExact = (double)start;
            while (true)
            {
                var now = Stopwatch.GetTimestamp();
                var due = (long)dueExact;
                if (due >= end)
                {
                    return inflight;
                }

                if (due > now)
                {
                    Pacer.SleepUntil(due);
                    continue;
                }

                while (due <= now && due < end)
                {
                    inflight.Add(SendAsync(recorder, due));
                    dueExact += Interval(due);
                    due = (long)dueExact;
                }

                if (inflight.Count > 4096)
                {
                    inflight.RemoveAll(t => t.IsCompleted);
                }
            }
        }

        async Task<Recorder> PhaseAsync(TimeSpan length)
        {
            var recorder = new Recorder { Timeline = timelineFile is null ? null : [] };
            var end = Stopwatch.GetTimestamp() + (long)(length.TotalSeconds * Stopwatch.Frequency);
            if (open)
            {
                // A thread of its own fires the requests: it sleeps until the next one is due (Pacer: to within
                // tens of microseconds, never spinning, since the generator shares a core with the upstream) and,
                // on waking, starts every request whose time has come. Each is timed from its own due time, so
                // lateness counts.
                var inflight = await Task.Factory.StartNew(() => Fire(recorder, end), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
                await Task.WhenAll(inflight);
            }
            else
            {
                await Task.WhenAll(Enumerable.Range(0, connections).Select(async i =>
                {
                    if (stagger > TimeSpan.Zero && i > 0)
                    {
                        await Task.Delay(stagger * i);
                    }

                    while (Stopwatch.GetTimestamp() < end)
                    {
                        await SendAsync(recorder, Stopwatch.GetTimestamp());
                    }
                }));
            }

            return recorder;
        }

        if (warmup > TimeSpan.Zero)
        {
            await PhaseAsync(warmup);
        }

        var (cpuBefore, _, switchesBefore) = ProcessStats(pid);
        var clock = Stopwatch.StartNew();
        var result = await PhaseAsync(duration);
        var elapsed = clock.Elapsed.TotalSeconds;
        var (cpuAfter, peakKb, switchesAfter) = ProcessStats(pid);
        await rereading.CancelAsync();
        await reread;

        var total = result.Ok + result.Errors;
        var row = new Dictionary<string, object?>
        {
            ["label"] = label,
            ["mode"] = open ? (spikeRate > 0 ? $"open {rate}/s, {spikeRate}/s for {spikeFor.TotalSeconds:0} s" : $"open {rate}/s") : stagger > TimeSpan.Zero ? $"closed {connections}, {stagger.TotalMilliseconds:0} ms apart" : $"closed {connections}",
            ["requests"] = total,
            ["throughput"] = Math.Round(result.Ok / elapsed, 0),
            ["errors_pct"] = total == 0 ? 0 : Math.Round(100.0 * result.Errors / total, 2),
            ["p50_ms"] = Ms(result.Latency, 50),
            ["p90_ms"] = Ms(result.Latency, 90),
            ["p95_ms"] = Ms(result.Latency, 95),
            ["p99_ms"] = Ms(result.Latency, 99),
            ["p999_ms"] = Ms(result.Latency, 99.9),
            ["ttft_p50_ms"] = stream ? Ms(result.FirstToken, 50) : null,
            ["ttft_p99_ms"] = stream ? Ms(result.FirstToken, 99) : null,
            ["max_gap_p50_ms"] = stream ? Ms(result.ChunkGap, 50) : null,
            ["cpu_s_per_1k"] = pid is null || total == 0 ? null : Math.Round((cpuAfter - cpuBefore) / total * 1000, 3),
            ["peak_rss_mb"] = pid is null ? null : Math.Round(peakKb / 1024.0, 1),
            ["switches_per_request"] = pid is null || total == 0 ? null : Math.Round((double)SwitchesBetween(switchesBefore, switchesAfter) / total, 2),
            ["gw_p50_ms"] = result.Gateway.TotalCount == 0 ? null : Ms(result.Gateway, 50),
            ["gw_p99_ms"] = result.Gateway.TotalCount == 0 ? null : Ms(result.Gateway, 99),
            ["errors"] = result.Errors,
            ["failures"] = result.Failures.Count == 0 ? null : string.Join(' ', result.Failures.Select(f => $"{(f.Key == 0 ? "none" : f.Key)}:{f.Value}")),
        };

        if (timelineFile is not null && result.Timeline is { } timeline)
        {
            // Stopwatch ticks to Unix microseconds through one reading of both clocks.
            var (anchorTicks, anchorUnixMicros) = (Stopwatch.GetTimestamp(), (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10);
            await File.WriteAllLinesAsync(timelineFile, timeline.OrderBy(r => r.Start).Select(r => string.Create(
                CultureInfo.InvariantCulture,
                $"{anchorUnixMicros - (long)((anchorTicks - r.Start) * (1e6 / Stopwatch.Frequency))},{(r.Latency < 0 ? -1 : r.Latency / 10)},{(long)(r.Start * (1e6 / Stopwatch.Frequency))}")));
        }

        if (Args.Text(args, "--json") is { } file)
        {
            await File.AppendAllTextAsync(file, JsonSerializer.Serialize(row) + "\n");
        }

        // The printed row keeps the columns of bench/run.sh's table; the JSON has the rest (p95, errors, failures by status).
        Console.WriteLine("| " + string.Join(" | ", row.Where(c => c.Key is not ("p95_ms" or "errors" or "failures")).Select(c => c.Value).Select(v => v switch
        {
            null => "-",
            double d => d.ToString("0.###", CultureInfo.InvariantCulture),
            _ => Convert.ToString(v, CultureInfo.InvariantCulture),
        })) + " |");
        return 0;
    }

    /// <summary>The <c>gw;dur=</c> of a Server-Timing header, in 100 ns ticks; none from a server that sends none (the direct upstream).</summary>
    private static long? GatewayTicks(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Server-Timing", out var values))
        {
            return null;
        }

        foreach (var value in values)
        {
            foreach (var metric in value.Split(','))
            {
                var part = metric.Trim();
                if (part.StartsWith("gw;dur=", StringComparison.Ordinal)
                    && double.TryParse(part.AsSpan("gw;dur=".Length), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms))
                {
                    return (long)(ms * 10_000);
                }
            }
        }

        return null;
    }

    private static long ToTicks(long stopwatchTicks) => (long)(stopwatchTicks * (10_000_000.0 / Stopwatch.Frequency));

    private static async Task RereadTokenAsync(string file, Action<string> update, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(15), stop);
                try
                {
                    if ((await File.ReadAllTextAsync(file, stop)).Trim() is { Length: > 0 } fresh)
                    {
                        update(fresh);
                    }
                }
                catch (IOException)
                {
                    // Being replaced: the next read gets it.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The run is over.
        }
    }

    private static double Ms(LongHistogram histogram, double percentile) =>
        histogram.TotalCount == 0 ? 0 : Math.Round(histogram.GetValueAtPercentile(percentile) / 10_000.0, 3);

    /// <summary>
    /// CPU seconds (user + system), peak resident kB and context switches (voluntary and not) per thread of a
    /// process, from /proc. Switches per request count thread hand-offs, which on one core cost scheduler time;
    /// unlike CPU time they do not depend on how busy the host is.
    /// </summary>
    private static (double CpuSeconds, long PeakKb, Dictionary<string, long> Switches) ProcessStats(int? pid)
    {
        var switches = new Dictionary<string, long>(StringComparer.Ordinal);
        if (pid is null || !File.Exists($"/proc/{pid}/stat"))
        {
            return (0, 0, switches);
        }

        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        var peak = StatusField($"/proc/{pid}/status", "VmHWM:");
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                var status = Path.Combine(task, "status");
                switches[Path.GetFileName(task)] = StatusField(status, "voluntary_ctxt_switches:") + StatusField(status, "nonvoluntary_ctxt_switches:");
            }
            catch (IOException)
            {
                // The thread ended while being read.
            }
        }

        return (ticks / 100.0, peak, switches); // USER_HZ is 100 on Linux
    }

    /// <summary>
    /// Switches made during the run by the threads alive at its end (a thread's count goes with it when it exits,
    /// so thread-pool threads retired during the run are missed: a slight undercount, never a negative one).
    /// </summary>
    private static long SwitchesBetween(Dictionary<string, long> before, Dictionary<string, long> after) =>
        after.Sum(t => t.Value - before.GetValueOrDefault(t.Key));

    private static long StatusField(string file, string name) =>
        File.ReadLines(file).FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal)) is { } line
            ? long.Parse(line.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture)
            : 0;
}
