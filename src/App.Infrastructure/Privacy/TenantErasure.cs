using System.Text.Json;
using App.Application.Audit;
using App.Infrastructure.Audit;
using App.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;

namespace App.Infrastructure.Privacy;

/// <summary>
/// Erases a tenant's stored content by destroying its data keys (crypto-shredding): the ciphertexts stay where they
/// are, every partition and backup included, and nothing decrypts them any more. Content sealed by the master key
/// ring directly, before data keys existed, is cleared instead. The erasure is recorded in the tenant's audit chain,
/// and asking again once nothing is left answers the recorded erasure and changes nothing.
/// </summary>
public sealed class TenantErasure(TenantData data, TenantKeys keys, AuditLog audit, TimeProvider time)
{
    // Content in the master key ring's own format: its first byte is that format's.
    private const string ClearLegacyContentSql = """
        UPDATE app.traces SET
            prompt_ciphertext = CASE WHEN get_byte(prompt_ciphertext, 0) = 1 THEN NULL ELSE prompt_ciphertext END,
            output_ciphertext = CASE WHEN get_byte(output_ciphertext, 0) = 1 THEN NULL ELSE output_ciphertext END
        WHERE get_byte(prompt_ciphertext, 0) = 1 OR get_byte(output_ciphertext, 0) = 1
        """;

    public async Task<ErasureRecord> EraseAsync(string tenantId, string actor, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        var (destroyed, cleared) = await data.ChangeAsync(tenantId, async db =>
        {
            // The lock a key is made under: a writer making the tenant's first key waits for the erasure, not the reverse.
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtext({TenantKeys.LockName(tenantId)}))", cancellationToken).ConfigureAwait(false);
            var keysDeleted = await db.TenantDataKeys.ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
            var rowsCleared = await db.Database.ExecuteSqlRawAsync(ClearLegacyContentSql, cancellationToken).ConfigureAwait(false);
            return (keysDeleted, rowsCleared);
        }, cancellationToken).ConfigureAwait(false);
        keys.Forget(tenantId);

        if (destroyed == 0 && cleared == 0 && await PreviousAsync(tenantId, cancellationToken).ConfigureAwait(false) is { } previous)
        {
            return previous;
        }

        var record = new ErasureRecord(tenantId, destroyed, DateTimeOffset.FromUnixTimeMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds()));
        await audit.AppendAsync(tenantId, AuditKinds.ContentErased, actor, tenantId, new { keys_destroyed = destroyed, legacy_rows_cleared = cleared, erased_at = record.ErasedAt }, cancellationToken).ConfigureAwait(false);
        return record;
    }

    private async Task<ErasureRecord?> PreviousAsync(string tenantId, CancellationToken cancellationToken)
    {
        if (await audit.LastDataAsync(tenantId, AuditKinds.ContentErased, cancellationToken).ConfigureAwait(false) is not { } json)
        {
            return null;
        }

        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        return new ErasureRecord(tenantId, root.GetProperty("keys_destroyed").GetInt32(), root.GetProperty("erased_at").GetDateTimeOffset());
    }
}
