using Microsoft.EntityFrameworkCore;

namespace App.Infrastructure.Persistence;

/// <summary>
/// Units of work on tenant data: a context bound to the tenant, inside a transaction, so row-level security
/// applies to the reads as well as the writes. There is no way to run these without naming the tenant.
/// </summary>
public sealed class TenantData(IDbContextFactory<AppDbContext> databases)
{
    public async Task<T> ReadAsync<T>(string tenantId, Func<AppDbContext, Task<T>> query, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        ArgumentNullException.ThrowIfNull(query);
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        db.TenantId = tenantId;
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var result = await query(db).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>A statement or two that change rows (ExecuteUpdate and the like), with what they report.</summary>
    public Task<T> ChangeAsync<T>(string tenantId, Func<AppDbContext, Task<T>> change, CancellationToken cancellationToken) =>
        ReadAsync(tenantId, change, cancellationToken);

    public async Task WriteAsync(string tenantId, Func<AppDbContext, Task> work, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        ArgumentNullException.ThrowIfNull(work);
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        db.TenantId = tenantId;
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await work(db).ConfigureAwait(false);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
