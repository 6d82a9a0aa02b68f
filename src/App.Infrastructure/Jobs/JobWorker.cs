using App.Application.Gateway;
using App.Application.Jobs;
using App.Application.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace App.Infrastructure.Jobs;

/// <summary>Which part of the service this process runs.</summary>
public sealed class ProcessRole
{
    /// <summary>True in a process started as <c>App.Api worker</c>: workers only, no API endpoints.</summary>
    public bool IsWorker { get; init; }
}

/// <summary>
/// Runs jobs: <see cref="JobOptions.Concurrency"/> loops that each read one message at a time from the consumer
/// group (or take over one whose worker went silent), and a maintenance loop that moves due retries onto the
/// stream and re-enqueues jobs whose message was lost. Delivery is at least once; completion is exactly once
/// (a conditional update in <see cref="JobStore"/>). On a graceful stop, reading stops at once and running jobs get
/// <see cref="StopGrace"/> to finish; what is still running then stays pending and is taken over elsewhere.
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

    private readonly string _consumer = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
    private readonly CancellationTokenSource _runs = new();

    // Jobs running in this process, with the message each runs under: a reclaim or a sweep must not start one twice here.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<JobRef, RedisValue> _running = new();

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
        _runs.Cancel();
        _runs.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
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

        LogStarted(_consumer, o.Concurrency);
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
                var messages = await delivery.ReadAsync(_consumer, 1).ConfigureAwait(false);
                if (messages.Count == 0 && time.GetElapsedTime(lastReclaim) > o.VisibilityTimeout / 4)
                {
                    lastReclaim = time.GetTimestamp();
                    messages = await delivery.ReclaimAsync(_consumer, 1).ConfigureAwait(false);
                    if (messages.Count > 0)
                    {
                        GatewayTelemetry.JobRedeliveries.Add(messages.Count, new KeyValuePair<string, object?>("app.job.reason", "reclaimed"));
                        LogReclaimed(messages[0].Job, _consumer);
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
            await RunAsync(message, job, cancel).ConfigureAwait(false);
        }
        finally
        {
            _running.TryRemove(job, out _);
        }
    }

    private async Task RunAsync(JobMessage message, JobRef job, CancellationToken cancel)
    {
        var current = await store.FindAsync(job, cancel).ConfigureAwait(false);
        if (current is null)
        {
            await delivery.AckAsync(message.MessageId).ConfigureAwait(false);
            return;
        }

        if (JobStatus.IsFinal(current.Status))
        {
            GatewayTelemetry.JobDuplicates.Add(1);
            await store.CountDuplicateAsync(job, cancel).ConfigureAwait(false);
            await delivery.AckAsync(message.MessageId).ConfigureAwait(false);
            return;
        }

        if (current.NextAttemptAt is { } next && next > time.GetUtcNow().AddMilliseconds(500))
        {
            // An early copy of a job waiting for its retry: the delayed set (or the sweeper) brings it back on time.
            await delivery.AckAsync(message.MessageId).ConfigureAwait(false);
            return;
        }

        var o = options.Value;
        if (current.Attempts >= current.MaxAttempts)
        {
            await GiveUpAsync(job, message, current.ErrorType ?? "worker_lost", $"Gave up after {current.Attempts} attempts. {current.Error}".Trim(), cancel).ConfigureAwait(false);
            return;
        }

        if (!await store.StartRunAsync(job, _consumer, cancel).ConfigureAwait(false))
        {
            await delivery.AckAsync(message.MessageId).ConfigureAwait(false);
            return;
        }

        var attempt = current.Attempts + 1;
        LogRunning(job, attempt, _consumer);
        using var keepAlive = new CancellationTokenSource();
        var heartbeat = HeartbeatAsync(job, message.MessageId, keepAlive.Token);
        JobRunOutcome outcome;
        try
        {
            var requests = store.DecryptRequests(current);
            outcome = await runner.RunAsync(job.Tenant, current.UserId, requests, done => store.ProgressAsync(job, done, cancel), cancel).ConfigureAwait(false);
        }
        finally
        {
            await keepAlive.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
        }

        if (outcome.Results is { } results)
        {
            if (await store.CompleteAsync(job, results, CancellationToken.None).ConfigureAwait(false))
            {
                var status = results.All(r => r.Status != "ok") ? JobStatus.Failed : JobStatus.Succeeded;
                GatewayTelemetry.JobsFinished.Add(1, new KeyValuePair<string, object?>("app.job.status", status));
                LogFinished(job, status, attempt);
            }
            else
            {
                GatewayTelemetry.JobDuplicates.Add(1);
                await store.CountDuplicateAsync(job, CancellationToken.None).ConfigureAwait(false);
            }

            await delivery.AckAsync(message.MessageId).ConfigureAwait(false);
            return;
        }

        var error = outcome.RetryableError!;
        var errorType = GatewayErrors.Describe(error.Kind).Code;
        if (attempt >= current.MaxAttempts)
        {
            await GiveUpAsync(job, message, errorType, $"Gave up after {attempt} attempts: {error.Message}", CancellationToken.None).ConfigureAwait(false);
            return;
        }

        var delay = Backoff(attempt, error.RetryAfter, o);
        var due = time.GetUtcNow() + delay;
        await store.ScheduleRetryAsync(job, due, errorType, error.Message, CancellationToken.None).ConfigureAwait(false);
        await delivery.DelayAsync(job, due).ConfigureAwait(false);
        await delivery.AckAsync(message.MessageId).ConfigureAwait(false);
        GatewayTelemetry.JobRetries.Add(1);
        LogRetrying(job, attempt, errorType, delay.TotalSeconds);
    }

    private async Task GiveUpAsync(JobRef job, JobMessage message, string errorType, string error, CancellationToken cancellationToken)
    {
        if (await store.DeadLetterAsync(job, errorType, error, cancellationToken).ConfigureAwait(false))
        {
            await delivery.DeadLetterAsync(job, error).ConfigureAwait(false);
            GatewayTelemetry.JobsFinished.Add(1, new KeyValuePair<string, object?>("app.job.status", JobStatus.DeadLettered));
            LogDeadLettered(job, error);
        }

        await delivery.AckAsync(message.MessageId).ConfigureAwait(false);
    }

    /// <summary>Exponential with full jitter (base * 2^(attempt-1), capped), never sooner than the upstream asked.</summary>
    internal static TimeSpan Backoff(int attempt, TimeSpan? retryAfter, JobOptions options)
    {
        var ceiling = Math.Min(options.RetryMaxDelay.TotalMilliseconds, options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
        var jittered = TimeSpan.FromMilliseconds((ceiling / 2) + (Random.Shared.NextDouble() * ceiling / 2));
        return retryAfter is { } ra && ra > jittered ? ra : jittered;
    }

    private async Task HeartbeatAsync(JobRef job, RedisValue messageId, CancellationToken cancellationToken)
    {
        var every = options.Value.VisibilityTimeout / 3;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (!await Delay(every, cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            try
            {
                await delivery.KeepAliveAsync(_consumer, messageId).ConfigureAwait(false);
                await store.HeartbeatAsync(job, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogLoopFailed(ex.GetType().Name, ex.Message);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
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

    private async Task<bool> Delay(TimeSpan delay, CancellationToken cancellationToken)
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} attempt {Attempt} running on {Consumer}")]
    private partial void LogRunning(JobRef job, int attempt, string consumer);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} {Status} after {Attempt} attempt(s)")]
    private partial void LogFinished(JobRef job, string status, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} attempt {Attempt} failed ({ErrorType}); retrying in {DelaySeconds:F1} s")]
    private partial void LogRetrying(JobRef job, int attempt, string errorType, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {Job} dead-lettered: {Error}")]
    private partial void LogDeadLettered(JobRef job, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} taken over by {Consumer} (its worker went silent)")]
    private partial void LogReclaimed(JobRef job, string consumer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} enqueued again (its message was lost)")]
    private partial void LogRequeued(JobRef job);
}
