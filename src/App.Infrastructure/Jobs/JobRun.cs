using App.Application.Calls;
using App.Application.Jobs;
using App.Application.Telemetry;
using App.Infrastructure.Persistence;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace App.Infrastructure.Jobs;

/// <summary>
/// What a worker does with one delivered message, up to its acknowledgement: checks the job still needs running, holds
/// its lease while it runs (renewed through Redis alone, so a database that stalls cannot get the job taken over),
/// keeps each result as it comes, and stores the outcome, waiting out a database that does not answer rather than
/// running the job again.
/// </summary>
internal sealed partial class JobRun(JobDelivery delivery, JobStore store, JobRunner runner, JobOptions options, TimeProvider time, ILogger logger, string consumer)
{
    /// <summary>This worker's name in the consumer group, and the holder's name on its leases.</summary>
    public string Consumer => consumer;

    public async Task RunAsync(JobMessage message, CancellationToken cancel)
    {
        var job = message.Job;
        var current = await store.FindAsync(job, cancel).ConfigureAwait(false);
        if (current is null)
        {
            await delivery.AckAsync(message.MessageId).ConfigureAwait(false);
            return;
        }

        if (JobStatus.IsFinal(current.Status))
        {
            await AlreadyFinalAsync(message, current, cancel).ConfigureAwait(false);
            return;
        }

        if (current.NextAttemptAt is { } next && next > time.GetUtcNow().AddMilliseconds(500))
        {
            // An early copy of a job waiting for its retry: the delayed set (or the sweeper) brings it back on time.
            await delivery.AckAsync(message.MessageId).ConfigureAwait(false);
            return;
        }

        if (!await delivery.LeaseAsync(job, consumer, RedisValue.Null).ConfigureAwait(false))
        {
            // Its worker is alive (it renews the lease): this copy stays pending and is looked at again after a while.
            GatewayTelemetry.JobLeaseHeld.Add(1);
            LogLeaseHeld(job, consumer);
            return;
        }

        if (current.Attempts >= current.MaxAttempts)
        {
            await GiveUpAsync(message, current.ErrorType ?? "worker_lost", $"Gave up after {current.Attempts} attempts. {current.Error}".Trim(), cancel).ConfigureAwait(false);
            return;
        }

        if (!await store.StartRunAsync(job, consumer, cancel).ConfigureAwait(false))
        {
            await delivery.FinishAsync(job, consumer, message.MessageId).ConfigureAwait(false);
            return;
        }

        var attempt = current.Attempts + 1;
        LogRunning(job, attempt, consumer);
        using var lost = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        using var stop = new CancellationTokenSource();
        var lease = HoldLeaseAsync(job, message.MessageId, lost, stop.Token);
        var heartbeat = HeartbeatAsync(job, lost, stop.Token);
        try
        {
            var outcome = await runner.RunAsync(
                job.Tenant, current.UserId, store.DecryptRequests(current), store.DecryptResults(current) ?? [], results => CheckpointAsync(job, results, lost), lost.Token).ConfigureAwait(false);
            await FinishAsync(message, current, attempt, outcome, lost.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (lost.IsCancellationRequested && !cancel.IsCancellationRequested)
        {
            LogLeaseLost(job, consumer);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(lease, heartbeat).ConfigureAwait(false);
        }
    }

    private async Task AlreadyFinalAsync(JobMessage message, Job current, CancellationToken cancel)
    {
        if (current.Status == JobStatus.DeadLettered)
        {
            // Its worker may have died between the record and the feed: the feed entry is written once, here if not yet.
            await delivery.DeadLetterAsync(message.Job, current.Error ?? JobStatus.DeadLettered, consumer, message.MessageId).ConfigureAwait(false);
            return;
        }

        GatewayTelemetry.JobDuplicates.Add(1);
        await store.CountDuplicateAsync(message.Job, cancel).ConfigureAwait(false);
        await delivery.AckAsync(message.MessageId).ConfigureAwait(false);
    }

    private async Task FinishAsync(JobMessage message, Job current, int attempt, JobRunOutcome outcome, CancellationToken cancel)
    {
        var job = message.Job;
        if (outcome.Results is { } results)
        {
            if (await WhileUnavailableAsync(job, () => store.CompleteAsync(job, results, CancellationToken.None), cancel).ConfigureAwait(false))
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

            await delivery.FinishAsync(job, consumer, message.MessageId).ConfigureAwait(false);
            return;
        }

        var error = outcome.RetryableError!;
        var errorType = GatewayErrors.Describe(error.Kind).Code;
        if (attempt >= current.MaxAttempts)
        {
            await GiveUpAsync(message, errorType, $"Gave up after {attempt} attempts: {error.Message}", cancel).ConfigureAwait(false);
            return;
        }

        var delay = JobWorker.Backoff(attempt, error.RetryAfter, options);
        var due = time.GetUtcNow() + delay;
        await WhileUnavailableAsync(job, () => store.ScheduleRetryAsync(job, due, errorType, error.Message, CancellationToken.None), cancel).ConfigureAwait(false);
        await delivery.DelayAsync(job, due).ConfigureAwait(false);
        await delivery.FinishAsync(job, consumer, message.MessageId).ConfigureAwait(false);
        GatewayTelemetry.JobRetries.Add(1);
        LogRetrying(job, attempt, errorType, delay.TotalSeconds);
    }

    private async Task GiveUpAsync(JobMessage message, string errorType, string error, CancellationToken cancel)
    {
        var job = message.Job;
        if (await WhileUnavailableAsync(job, () => store.DeadLetterAsync(job, errorType, error, CancellationToken.None), cancel).ConfigureAwait(false))
        {
            GatewayTelemetry.JobsFinished.Add(1, new KeyValuePair<string, object?>("app.job.status", JobStatus.DeadLettered));
            LogDeadLettered(job, error);
        }

        // After PostgreSQL's record, whoever wrote it: the feed follows the record, never the other way round.
        await delivery.DeadLetterAsync(job, error, consumer, message.MessageId).ConfigureAwait(false);
    }

    /// <summary>A result kept as it comes; a database that does not answer only delays it to the next one.</summary>
    // A run whose job is no longer running for this worker (final, failed by an erasure, or taken over) stops: no
    // further request of it goes to the model.
    private async Task CheckpointAsync(JobRef job, IReadOnlyList<JobItemResult> results, CancellationTokenSource lost)
    {
        try
        {
            if (await store.CheckpointAsync(job, consumer, results, lost.Token).ConfigureAwait(false) == 0)
            {
                LogNoLongerRunning(job);
                await lost.CancelAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (DatabaseOutage.IsUnavailable(ex) && !lost.IsCancellationRequested)
        {
            LogCheckpointDeferred(job, ex.GetType().Name);
        }
    }

    /// <summary>
    /// Stores an outcome, trying again while the database does not answer: the results are in hand, and giving up would
    /// run the job again. Gives up (the exception) only when the worker is stopping past its grace.
    /// </summary>
    private async Task<T> WhileUnavailableAsync<T>(JobRef job, Func<Task<T>> write, CancellationToken cancel)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await write().ConfigureAwait(false);
            }
            catch (Exception ex) when (DatabaseOutage.IsUnavailable(ex) && !cancel.IsCancellationRequested)
            {
                if (attempt == 1)
                {
                    LogWaitingForDatabase(job, ex.GetType().Name);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(250 * attempt, 2000)), time, cancel).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Renews the lease and the message every third of the visibility timeout; losing the lease ends the run.</summary>
    private async Task HoldLeaseAsync(JobRef job, RedisValue messageId, CancellationTokenSource lost, CancellationToken stop)
    {
        var every = options.VisibilityTimeout / 3;
        while (await JobWorker.DelayAsync(every, time, stop).ConfigureAwait(false))
        {
            try
            {
                if (!await delivery.LeaseAsync(job, consumer, messageId).ConfigureAwait(false))
                {
                    await lost.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                LogRenewFailed(job, ex.Message);
            }
        }
    }

    /// <summary>The run's sign of life in PostgreSQL, for the sweeper; best effort, and never in the lease's way.</summary>
    private async Task HeartbeatAsync(JobRef job, CancellationTokenSource lost, CancellationToken stop)
    {
        var every = options.VisibilityTimeout / 3;
        while (await JobWorker.DelayAsync(every, time, stop).ConfigureAwait(false))
        {
            try
            {
                if (await store.HeartbeatAsync(job, stop).ConfigureAwait(false) == 0)
                {
                    LogNoLongerRunning(job);
                    await lost.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogHeartbeatFailed(job, ex.GetType().Name);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} is no longer running (finished elsewhere or its content erased); its run stops")]
    private partial void LogNoLongerRunning(JobRef job);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} attempt {Attempt} running on {Consumer}")]
    private partial void LogRunning(JobRef job, int attempt, string consumer);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} {Status} after {Attempt} attempt(s)")]
    private partial void LogFinished(JobRef job, string status, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} attempt {Attempt} failed ({ErrorType}); retrying in {DelaySeconds:F1} s")]
    private partial void LogRetrying(JobRef job, int attempt, string errorType, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {Job} dead-lettered: {Error}")]
    private partial void LogDeadLettered(JobRef job, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} reached {Consumer} while another live worker holds it; left pending")]
    private partial void LogLeaseHeld(JobRef job, string consumer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job} run on {Consumer} stopped: another worker holds its lease now")]
    private partial void LogLeaseLost(JobRef job, string consumer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: its lease could not be renewed ({Error}); trying again")]
    private partial void LogRenewFailed(JobRef job, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: heartbeat not stored ({ErrorType})")]
    private partial void LogHeartbeatFailed(JobRef job, string errorType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: results so far not stored ({ErrorType}); kept for the next checkpoint")]
    private partial void LogCheckpointDeferred(JobRef job, string errorType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: PostgreSQL does not answer ({ErrorType}); holding the outcome until it does")]
    private partial void LogWaitingForDatabase(JobRef job, string errorType);
}
