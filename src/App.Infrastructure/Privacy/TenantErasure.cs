using System.Text.Json;
using App.Application.Audit;
using App.Application.Jobs;
using App.Infrastructure.Audit;
using App.Infrastructure.Jobs;
using App.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;

namespace App.Infrastructure.Privacy;

/// <summary>
/// Erases a tenant's stored content by destroying its data keys (crypto-shredding): the ciphertexts stay where they
/// are, every partition and backup included, and nothing decrypts them any more. The keys, the tenant's job requests
/// and results (an unfinished job failing as <c>content_erased</c>) and the audit event commit together, under the lock
/// keys are made under, so two erasures at once record one event; that transaction touches no trace, so it stays short
/// whatever the tenant stored. Content sealed by the master key ring directly (before data keys existed, or while a key
/// could not be fetched) is cleared after it, with no lock held; asking again clears what a failed run left, answers
/// the recorded erasure and records nothing.
/// </summary>
public sealed class TenantErasure(TenantData data, TenantKeys keys, AuditLog audit, TimeProvider time)
{
    public const string ErasedError = "content_erased";

    // Content in the master key ring's own format: its first byte is that format's.
    private const string ClearLegacyContentSql = """
        UPDATE app.traces SET
            prompt_ciphertext = CASE WHEN get_byte(prompt_ciphertext, 0) = 1 THEN NULL ELSE prompt_ciphertext END,
            output_ciphertext = CASE WHEN get_byte(output_ciphertext, 0) = 1 THEN NULL ELSE output_ciphertext END
        WHERE get_byte(prompt_ciphertext, 0) = 1 OR get_byte(output_ciphertext, 0) = 1
        """;

    /// <summary>How long the clearing of content sealed under the master key ring may take: it reads every trace of the tenant.</summary>
    public static readonly TimeSpan LegacyClearTimeout = TimeSpan.FromMinutes(10);

    public async Task<ErasureRecord> EraseAsync(string tenantId, string actor, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        var record = await data.ChangeAsync(tenantId, async db =>
        {
            // The lock a key is made under: a writer making the tenant's first key waits for the erasure, not the reverse.
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtext({TenantKeys.LockName(tenantId)}))", cancellationToken).ConfigureAwait(false);
            var destroyed = await db.TenantDataKeys.ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
            var jobs = await EraseJobsAsync(db, cancellationToken).ConfigureAwait(false);
            if (destroyed == 0 && jobs == 0 && await PreviousAsync(db, tenantId, cancellationToken).ConfigureAwait(false) is { } previous)
            {
                return previous;
            }

            var erased = new ErasureRecord(tenantId, destroyed, jobs, DateTimeOffset.FromUnixTimeMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds()));
            await audit.AppendWithinAsync(db, AuditKinds.ContentErased, actor, tenantId,
                new { keys_destroyed = destroyed, jobs_erased = jobs, erased_at = erased.ErasedAt }, onlyIfChanged: false, cancellationToken).ConfigureAwait(false);
            return erased;
        }, cancellationToken).ConfigureAwait(false);
        await keys.ForgetEverywhereAsync(tenantId).ConfigureAwait(false);
        await data.ChangeAsync(tenantId, db =>
        {
            db.Database.SetCommandTimeout(LegacyClearTimeout);
            return db.Database.ExecuteSqlRawAsync(ClearLegacyContentSql, cancellationToken);
        }, cancellationToken).ConfigureAwait(false);
        return record;
    }

    // A worker running an unfinished job finds it final at its next step and stops.
    private async Task<int> EraseJobsAsync(AppDbContext db, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var stopped = await db.Jobs
            .Where(JobStore.Unfinished)
            .ExecuteUpdateAsync(s => s
                .SetProperty(j => j.Status, JobStatus.Failed)
                .SetProperty(j => j.ErrorType, ErasedError)
                .SetProperty(j => j.Error, "The tenant's stored content was erased.")
                .SetProperty(j => j.RequestCiphertext, Array.Empty<byte>())
                .SetProperty(j => j.ResultCiphertext, (byte[]?)null)
                .SetProperty(j => j.CompletedAt, now)
                .SetProperty(j => j.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
        var finished = await db.Jobs
            .Where(j => j.RequestCiphertext.Length > 0 || j.ResultCiphertext != null)
            .ExecuteUpdateAsync(s => s
                .SetProperty(j => j.RequestCiphertext, Array.Empty<byte>())
                .SetProperty(j => j.ResultCiphertext, (byte[]?)null)
                .SetProperty(j => j.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
        return stopped + finished;
    }

    private static async Task<ErasureRecord?> PreviousAsync(AppDbContext db, string tenantId, CancellationToken cancellationToken)
    {
        if (await AuditLog.LastDataWithinAsync(db, AuditKinds.ContentErased, cancellationToken).ConfigureAwait(false) is not { } json)
        {
            return null;
        }

        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        return new ErasureRecord(
            tenantId,
            root.GetProperty("keys_destroyed").GetInt32(),
            root.TryGetProperty("jobs_erased", out var jobs) ? jobs.GetInt32() : 0,
            root.GetProperty("erased_at").GetDateTimeOffset());
    }
}
