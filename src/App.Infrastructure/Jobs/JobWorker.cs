using System.Security.Cryptography;
using App.Application.Jobs;
using App.Application.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace App.Infrastructure.Jobs;

/// <summary>
/// Runs jobs: <see cref="JobOptions.Concurrency"/> loops that each read one message at a time from the consumer
/// group (or take over one whose worker went silent), and a maintenance loop that moves due retries onto the
/// stream and re-enqueues jobs whose message was lost. Delivery is at least once; completion is exactly once
/// (a conditional update in <see cref="JobStore"/>), and a job runs on one worker at a time (<see cref="JobRun"/>
/// holds its lease). On a graceful stop, reading stops at once and running jobs get <see cref="StopGrace"/> to
/// finish; what is still running then stays pending and is taken over elsewhere, after the results it kept.
/// </summary>
public sealed partial class JobWorker(
    JobDelivery delivery,
    JobStore store,
    JobRunner runner,
    IOptions<JobOptions> options,
    ProcessRole role,
    TimeProvider time,
    ILogger<JobWorker> logger) : BackgroundService
{
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(20);

    private readonly JobRun _run = new(delivery, store, runner, options.Value, time, logger, $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}");
    private readonly CancellationTokenSource _runs = new();

    // Jobs running in this process, with the message each runs under: a reclaim or a sweep must not start one twice here.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<JobRef, RedisValue> _running = new();

    private JobGauges? _gauges;

    private bool _disposed;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!_disposed)
        {
            _runs.CancelAfter(StopGrace);
        }

        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        // A host may be disposed without being stopped (and stopped after): cancel what still runs, then let go.
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _gauges?.Dispose();
        _runs.Cancel();
        _runs.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        _gauges = new JobGauges(delivery, () => _running.Count);
        if (!o.RunWorkers && !role.IsWorker)
        {
            return;
        }

        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await delivery.EnsureGroupAsync().ConfigureAwait(false);
                break;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                LogRedisUnavailable(ex.Message);
                await Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
            }
        }

        LogStarted(_run.Consumer, o.Concurrency);
        var loops = Enumerable.Range(0, o.Concurrency).Select(i => RunLoopAsync(i, stoppingToken)).Append(MaintainAsync(stoppingToken));
        await Task.WhenAll(loops).ConfigureAwait(false);
    }

    private async Task RunLoopAsync(int index, CancellationToken stoppingToken)
    {
        var o = options.Value;
        var lastReclaim = time.GetTimestamp();
        // An idle loop polls less and less often, from PollInterval up to IdlePollInterval: an idle instance
        // otherwise wakes Redis and its own threads dozens of times a second for nothing.
        var wait = o.PollInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var arrival = delivery.Arrival;
                var messages = await delivery.ReadAsync(_run.Consumer, 1).ConfigureAwait(false);
                if (messages.Count == 0 && time.GetElapsedTime(lastReclaim) > o.VisibilityTimeout / 4)
                {
                    lastReclaim = time.GetTimestamp();
                    messages = await delivery.ReclaimAsync(_run.Consumer, 1).ConfigureAwait(false);
                    if (messages.Count > 0)
                    {
                        GatewayTelemetry.JobRedeliveries.Add(messages.Count, new KeyValuePair<string, object?>("app.job.reason", "reclaimed"));
                        LogReclaimed(messages[0].Job, _run.Consumer);
                    }
                }

                if (messages.Count == 0)
                {
                    await WaitForWorkAsync(wait + TimeSpan.FromMilliseconds(index * 7), arrival, stoppingToken).ConfigureAwait(false);
                    wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, o.IdlePollInterval.Ticks)); // validated: ≥ PollInterval
                    continue;
                }

                wait = o.PollInterval;

                foreach (var message in messages)
                {
                    await ProcessAsync(message).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested || _runs.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Redis or PostgreSQL away: the message (if any) stays pending and comes back; wait and go on.
                LogLoopFailed(ex.GetType().Name, ex.Message);
                await Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private async Task ProcessAsync(JobMessage message)
    {
        var job = message.Job;
        if (_disposed)
        {
            return;
        }

        var cancel = _runs.Token;
        if (job.Id == Guid.Empty)
        {
            await delivery.AckAsync(message.MessageId).ConfigureAwait(false);
            return;
        }

        if (_running.TryGetValue(job, out var runningUnder))
        {
            // Already running here: our own message came back through a reclaim (its keep-alive was late), or a
            // second copy arrived (a sweep). The first stays pending with the run; a copy is acknowledged.
            if (runningUnder != message.MessageId)
            {
                GatewayTelemetry.JobDuplicates.Add(1);
                await delivery.AckAsync(message.MessageId).ConfigureAwait(false);
            }

            return;
        }

        if (!_running.TryAdd(job, message.MessageId))
        {
            return;
        }

        try
        {
            await _run.RunAsync(message, cancel).ConfigureAwait(false);
        }
        finally
        {
            _running.TryRemove(job, out _);
        }
    }

    /// <summary>Exponential with full jitter (base * 2^(attempt-1), capped), never sooner than the upstream asked.</summary>
    internal static TimeSpan Backoff(int attempt, TimeSpan? retryAfter, JobOptions options)
    {
        var ceiling = Math.Min(options.RetryMaxDelay.TotalMilliseconds, options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
        var jittered = TimeSpan.FromMilliseconds((ceiling / 2) + (RandomNumberGenerator.GetInt32(int.MaxValue) / (double)int.MaxValue * ceiling / 2));
        return retryAfter is { } ra && ra > jittered ? ra : jittered;
    }

    private async Task MaintainAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        var lastSweep = time.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await delivery.PumpDueAsync(time.GetUtcNow()).ConfigureAwait(false);
                if (time.GetElapsedTime(lastSweep) > o.StaleAfter / 2)
                {
                    lastSweep = time.GetTimestamp();
                    foreach (var stale in await store.ClaimStaleAsync(time.GetUtcNow() - o.StaleAfter, 100, stoppingToken).ConfigureAwait(false))
                    {
                        await delivery.EnqueueAsync(stale).ConfigureAwait(false);
                        GatewayTelemetry.JobRedeliveries.Add(1, new KeyValuePair<string, object?>("app.job.reason", "stale"));
                        LogRequeued(stale);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogLoopFailed(ex.GetType().Name, ex.Message);
            }

            await Delay(TimeSpan.FromMilliseconds(250), stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>Waits for the poll delay, or less when this process enqueues a job meanwhile.</summary>
    private async Task WaitForWorkAsync(TimeSpan delay, Task arrival, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sleeping = Delay(delay, timer.Token);
        await Task.WhenAny(sleeping, arrival).ConfigureAwait(false);
        await timer.CancelAsync().ConfigureAwait(false);
        await sleeping.ConfigureAwait(false);
    }

    private Task<bool> Delay(TimeSpan delay, CancellationToken cancellationToken) => DelayAsync(delay, time, cancellationToken);

    /// <summary>Waits; false when cancelled instead.</summary>
    internal static async Task<bool> DelayAsync(TimeSpan delay, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job worker {Consumer} started with {Concurrency} loops")]
    private partial void LogStarted(string consumer, int concurrency);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job worker waiting for Redis: {Error}")]
    private partial void LogRedisUnavailable(string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job worker loop failed ({ErrorType}: {Error}); going on")]
    private partial void LogLoopFailed(string errorType, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} taken over by {Consumer} (its worker went silent)")]
    private partial void LogReclaimed(JobRef job, string consumer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} enqueued again (its message was lost)")]
    private partial void LogRequeued(JobRef job);
}
