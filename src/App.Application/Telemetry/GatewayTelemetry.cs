using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace App.Application.Telemetry;

/// <summary>
/// Spans and metrics of model calls, named after the OpenTelemetry GenAI semantic conventions
/// (<c>gen_ai.*</c>) where one exists, and <c>app.gateway.*</c> for what is ours (cache, retries, fallback).
/// </summary>
public static class GatewayTelemetry
{
    public const string SourceName = "App.Gateway";

    public static readonly ActivitySource Source = new(SourceName);

    private static readonly Meter Meter = new(SourceName);

    // Bucket edges as the GenAI semantic conventions give them.
    public static readonly Histogram<long> TokenUsage = Meter.CreateHistogram<long>(
        "gen_ai.client.token.usage", "{token}", "Tokens used per model call, by gen_ai.token.type.",
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864] });

    public static readonly Histogram<double> OperationDuration = Meter.CreateHistogram<double>(
        "gen_ai.client.operation.duration", "s", "Duration of model calls as the client saw them.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] });

    public static readonly Histogram<double> TimeToFirstToken = Meter.CreateHistogram<double>(
        "gen_ai.server.time_to_first_token", "s", "Time from request to the first streamed token.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0] });

    public static readonly Histogram<double> TimePerOutputToken = Meter.CreateHistogram<double>(
        "gen_ai.server.time_per_output_token", "s", "Time per output token after the first, of streamed answers that came from a model.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5] });

    // Sub-millisecond edges: the gateway's own share of a request is tens to hundreds of microseconds.
    public static readonly Histogram<double> Overhead = Meter.CreateHistogram<double>(
        "app.gateway.overhead", "s", "The gateway's own time per /v1 request (the whole request less the time spent waiting on a model provider), by app.route_group.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });

    public static readonly Histogram<double> UpstreamDuration = Meter.CreateHistogram<double>(
        "app.gateway.upstream.duration", "s", "Time a /v1 request spent waiting on model providers (every attempt, and a stream to its end), by app.route_group.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 5, 10, 30, 60] });

    public static readonly Counter<long> CacheLookups = Meter.CreateCounter<long>(
        "app.gateway.cache.lookups", "{lookup}", "Response cache outcomes by app.cache.result (hit, miss, bypass).");

    public static readonly Counter<long> CacheErrors = Meter.CreateCounter<long>(
        "app.gateway.cache.errors", "{error}", "Cache operations that failed (store unavailable); the request went on uncached.");

    public static readonly Counter<long> CacheLocalHits = Meter.CreateCounter<long>(
        "app.gateway.cache.local_hits", "{hit}", "Cache hits answered from this instance's memory (Cache:Local) without a round trip to Redis; a subset of the hits in app.gateway.cache.lookups.");

    public static readonly Counter<long> EmbeddingCacheItems = Meter.CreateCounter<long>(
        "app.gateway.embeddings.cache.items", "{item}", "Embedding input items by app.cache.result: hit (answered from the cache), miss (sent upstream), bypass (cache off).");

    public static readonly Counter<long> Retries = Meter.CreateCounter<long>(
        "app.gateway.upstream.retries", "{retry}", "Retried upstream attempts.");

    public static readonly Counter<long> Fallbacks = Meter.CreateCounter<long>(
        "app.gateway.fallbacks", "{fallback}", "Calls served by a deployment other than the first of the route.");

    public static readonly Counter<long> OverlapsCancelled = Meter.CreateCounter<long>(
        "app.traffic.overlap_cancelled", "{call}", "Upstream calls started alongside their admission (Traffic:OverlapAdmission) and cancelled because it refused them.");

    public static readonly Counter<long> Rejections = Meter.CreateCounter<long>(
        "app.gateway.rejections", "{request}", "Requests refused by the gateway, by error.type.");

    public static readonly Counter<long> StreamErrors = Meter.CreateCounter<long>(
        "app.gateway.stream.errors", "{stream}", "Streams that failed after the first token was sent.");

    public static readonly Counter<long> TrafficRefusals = Meter.CreateCounter<long>(
        "app.traffic.refusals", "{request}", "Calls refused by a rate limit or budget, by app.traffic.limit.");

    public static readonly Counter<long> TrafficLeased = Meter.CreateCounter<long>(
        "app.traffic.leased", "{call}", "Calls admitted from a lease this instance holds (Traffic:LeaseCalls), without a round trip to Redis.");

    public static readonly Counter<long> TrafficUnenforced = Meter.CreateCounter<long>(
        "app.traffic.unenforced", "{request}", "Calls let through unchecked because the limit store (Redis) did not answer.");

    public static readonly Counter<double> Spend = Meter.CreateCounter<double>(
        "app.usage.cost", "USD", "Model spend as priced by Traffic:Prices, by tenant and gen_ai.request.model; cache hits cost nothing.");

    public static readonly Counter<long> UsageTokens = Meter.CreateCounter<long>(
        "app.usage.tokens", "{token}", "Tokens accounted against budgets, by tenant and app.usage.kind (input, output, cached).");

    public static readonly Counter<long> JobsFinished = Meter.CreateCounter<long>(
        "app.jobs.finished", "{job}", "Jobs that reached a final state, by app.job.status (succeeded, failed, dead_lettered).");

    public static readonly Counter<long> JobRetries = Meter.CreateCounter<long>(
        "app.jobs.retries", "{job}", "Job runs that failed transiently and were scheduled again.");

    public static readonly Counter<long> JobRedeliveries = Meter.CreateCounter<long>(
        "app.jobs.redeliveries", "{message}", "Job messages taken over from a silent worker (reclaimed) or re-enqueued after being lost (stale), by app.job.reason.");

    public static readonly Counter<long> JobDuplicates = Meter.CreateCounter<long>(
        "app.jobs.duplicates", "{message}", "Deliveries of jobs that were already final: detected and ignored.");

    public static readonly Counter<long> JobLeaseHeld = Meter.CreateCounter<long>(
        "app.jobs.lease_held", "{message}", "Deliveries left pending because another live worker holds the job's lease (a takeover or a copy while it runs).");
}
