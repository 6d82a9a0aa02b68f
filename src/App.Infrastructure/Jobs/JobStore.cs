using System.Text.Json;
using App.Application.Jobs;
using App.Application.OpenAi;
using App.Infrastructure.Persistence;
using App.Infrastructure.Security;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace App.Infrastructure.Jobs;

/// <summary>
/// Jobs in PostgreSQL, every statement bound to the job's tenant (row-level security). State changes are
/// conditional updates, so two workers that both got a job (a reclaimed message, a re-enqueued stale job) can
/// never both finish it: the second finds it final and only counts a duplicate delivery.
/// </summary>
public sealed class JobStore(TenantData data, IDbContextFactory<AppDbContext> databases, KeyEncryption encryption, TimeProvider time)
{
    // A job that has not reached a final state: the condition of every transition that must happen once.
    internal static readonly System.Linq.Expressions.Expression<Func<Job, bool>> Unfinished =
        j => j.Status != JobStatus.Succeeded && j.Status != JobStatus.Failed && j.Status != JobStatus.DeadLettered;

    public static string RequestContext(string tenant, Guid id) => $"job:{tenant}:{id:N}:request";

    public static string ResultContext(string tenant, Guid id) => $"job:{tenant}:{id:N}:result";

    public byte[] EncryptRequests(string tenant, Guid id, List<ChatCompletionRequest> requests) =>
        encryption.Encrypt(JsonSerializer.SerializeToUtf8Bytes(requests, JobJson.Wire.ListChatCompletionRequest), RequestContext(tenant, id));

    public List<ChatCompletionRequest> DecryptRequests(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return JsonSerializer.Deserialize(encryption.Decrypt(job.RequestCiphertext, RequestContext(job.TenantId, job.Id)), JobJson.Wire.ListChatCompletionRequest)!;
    }

    private byte[] EncryptResults(JobRef job, IReadOnlyList<JobItemResult> results) =>
        encryption.Encrypt(JsonSerializer.SerializeToUtf8Bytes(results.ToList(), JobJson.Wire.ListJobItemResult), ResultContext(job.Tenant, job.Id));

    /// <summary>The results of a finished job, or those a running one has so far.</summary>
    public List<JobItemResult>? DecryptResults(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return job.ResultCiphertext is null
            ? null
            : JsonSerializer.Deserialize(encryption.Decrypt(job.ResultCiphertext, ResultContext(job.TenantId, job.Id)), JobJson.Wire.ListJobItemResult);
    }

    /// <summary>Stores a new job; with an idempotency key its submitter already used, returns that job instead.</summary>
    public async Task<(Job Job, bool Created)> CreateAsync(Job job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.IdempotencyKey is not null
            && await data.ReadAsync(job.TenantId, db => db.Jobs.AsNoTracking().SingleOrDefaultAsync(j => j.UserId == job.UserId && j.IdempotencyKey == job.IdempotencyKey, cancellationToken), cancellationToken).ConfigureAwait(false) is { } known)
        {
            // The usual case of a resubmission whose Redis record is gone; the unique index below settles races.
            return (known, false);
        }

        try
        {
            await data.WriteAsync(job.TenantId, db =>
            {
                db.Jobs.Add(job);
                return Task.CompletedTask;
            }, cancellationToken).ConfigureAwait(false);
            return (job, true);
        }
        catch (DbUpdateException ex) when (ex.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } && job.IdempotencyKey is not null)
        {
            var existing = await data.ReadAsync(job.TenantId, db => db.Jobs.AsNoTracking().SingleAsync(j => j.UserId == job.UserId && j.IdempotencyKey == job.IdempotencyKey, cancellationToken), cancellationToken).ConfigureAwait(false);
            return (existing, false);
        }
    }

    public Task<Job?> FindAsync(JobRef job, CancellationToken cancellationToken) =>
        data.ReadAsync(job.Tenant, db => db.Jobs.AsNoTracking().SingleOrDefaultAsync(j => j.Id == job.Id, cancellationToken), cancellationToken);

    /// <summary>
    /// Marks a run as started (one more attempt) unless the job is final; false when it was. What earlier runs
    /// finished (<see cref="CheckpointAsync"/>) is kept: a new run goes on after it.
    /// </summary>
    public async Task<bool> StartRunAsync(JobRef job, string worker, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var changed = await data.ChangeAsync(job.Tenant, db => db.Jobs
            .Where(j => j.Id == job.Id).Where(Unfinished)
            .ExecuteUpdateAsync(
                s => s.SetProperty(j => j.Attempts, j => j.Attempts + 1)
                    .SetProperty(j => j.Status, JobStatus.Running)
                    .SetProperty(j => j.StartedAt, j => j.StartedAt ?? now)
                    .SetProperty(j => j.HeartbeatAt, now)
                    .SetProperty(j => j.NextAttemptAt, (DateTimeOffset?)null)
                    .SetProperty(j => j.Worker, worker)
                    .SetProperty(j => j.UpdatedAt, now),
                cancellationToken),
            cancellationToken).ConfigureAwait(false);
        return changed == 1;
    }

    /// <returns>1 while the job is running, 0 once it is not (finished elsewhere, or failed by an erasure).</returns>
    public Task<int> HeartbeatAsync(JobRef job, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        return data.ChangeAsync(job.Tenant, db => db.Jobs
            .Where(j => j.Id == job.Id && j.Status == JobStatus.Running)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.HeartbeatAt, now), cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Keeps the results so far of a run that <paramref name="worker"/> still holds: a run after a crash starts after
    /// them, so a request that was answered is not sent (and billed) again.
    /// </summary>
    /// <returns>1 when kept, 0 when the run is no longer this worker's to go on with.</returns>
    public Task<int> CheckpointAsync(JobRef job, string worker, IReadOnlyList<JobItemResult> results, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(results);
        var now = time.GetUtcNow();
        var ciphertext = EncryptResults(job, results);
        return data.ChangeAsync(job.Tenant, db => db.Jobs
            .Where(j => j.Id == job.Id && j.Status == JobStatus.Running && j.Worker == worker)
            .ExecuteUpdateAsync(
                s => s.SetProperty(j => j.ItemsDone, results.Count)
                    .SetProperty(j => j.ResultCiphertext, ciphertext)
                    .SetProperty(j => j.HeartbeatAt, now)
                    .SetProperty(j => j.UpdatedAt, now),
                cancellationToken),
            cancellationToken);
    }

    /// <summary>Writes the outcome once: false when another run finished the job first.</summary>
    public async Task<bool> CompleteAsync(JobRef job, IReadOnlyList<JobItemResult> results, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(results);
        var now = time.GetUtcNow();
        var ciphertext = EncryptResults(job, results);
        var allFailed = results.Count > 0 && results.All(r => r.Status != "ok");
        var status = allFailed ? JobStatus.Failed : JobStatus.Succeeded;
        var firstError = allFailed ? results[0].Error : null;
        var changed = await data.ChangeAsync(job.Tenant, db => db.Jobs
            .Where(j => j.Id == job.Id).Where(Unfinished)
            .ExecuteUpdateAsync(
                s => s.SetProperty(j => j.Status, status)
                    .SetProperty(j => j.ResultCiphertext, ciphertext)
                    .SetProperty(j => j.ItemsDone, results.Count)
                    .SetProperty(j => j.ErrorType, firstError == null ? null : firstError.Code)
                    .SetProperty(j => j.Error, firstError == null ? null : firstError.Message)
                    .SetProperty(j => j.CompletedAt, now)
                    .SetProperty(j => j.UpdatedAt, now),
                cancellationToken),
            cancellationToken).ConfigureAwait(false);
        return changed == 1;
    }

    public Task<int> ScheduleRetryAsync(JobRef job, DateTimeOffset at, string errorType, string error, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        return data.ChangeAsync(job.Tenant, db => db.Jobs
            .Where(j => j.Id == job.Id && j.Status == JobStatus.Running)
            .ExecuteUpdateAsync(
                s => s.SetProperty(j => j.Status, JobStatus.Queued)
                    .SetProperty(j => j.NextAttemptAt, at)
                    .SetProperty(j => j.ErrorType, errorType)
                    .SetProperty(j => j.Error, error)
                    .SetProperty(j => j.UpdatedAt, now),
                cancellationToken),
            cancellationToken);
    }

    public async Task<bool> DeadLetterAsync(JobRef job, string errorType, string error, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var changed = await data.ChangeAsync(job.Tenant, db => db.Jobs
            .Where(j => j.Id == job.Id).Where(Unfinished)
            .ExecuteUpdateAsync(
                s => s.SetProperty(j => j.Status, JobStatus.DeadLettered)
                    .SetProperty(j => j.ErrorType, errorType)
                    .SetProperty(j => j.Error, error)
                    .SetProperty(j => j.CompletedAt, now)
                    .SetProperty(j => j.UpdatedAt, now),
                cancellationToken),
            cancellationToken).ConfigureAwait(false);
        return changed == 1;
    }

    public Task CountDuplicateAsync(JobRef job, CancellationToken cancellationToken) =>
        data.ChangeAsync(job.Tenant, db => db.Jobs
            .Where(j => j.Id == job.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.DuplicateDeliveries, j => j.DuplicateDeliveries + 1), cancellationToken),
            cancellationToken);

    /// <summary>
    /// Unfinished jobs with no sign of life since <paramref name="before"/> (their message was lost, e.g. Redis
    /// restarted without persistence), each claimed by touching it so one sweeper enqueues it once.
    /// </summary>
    public async Task<IReadOnlyList<JobRef>> ClaimStaleAsync(DateTimeOffset before, int limit, CancellationToken cancellationToken)
    {
        List<StaleJob> candidates;
        await using (var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false))
        {
            candidates = await db.Database.SqlQuery<StaleJob>($"SELECT tenant_id, id FROM app.stale_jobs({before}, {limit})")
                .ToListAsync(cancellationToken).ConfigureAwait(false);
        }

        var claimed = new List<JobRef>(candidates.Count);
        var now = time.GetUtcNow();
        foreach (var candidate in candidates)
        {
            var changed = await data.ChangeAsync(candidate.TenantId, db => db.Jobs
                .Where(j => j.Id == candidate.Id && (j.Status == JobStatus.Queued || j.Status == JobStatus.Running)
                    && (j.HeartbeatAt ?? j.UpdatedAt) < before && (j.NextAttemptAt == null || j.NextAttemptAt < before))
                .ExecuteUpdateAsync(s => s.SetProperty(j => j.HeartbeatAt, now), cancellationToken),
                cancellationToken).ConfigureAwait(false);
            if (changed == 1)
            {
                claimed.Add(new JobRef(candidate.TenantId, candidate.Id));
            }
        }

        return claimed;
    }

    // Columns map by the snake_case convention: tenant_id, id.
    private sealed record StaleJob(string TenantId, Guid Id);
}
