using App.Application.Identity;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace App.Infrastructure.Persistence;

/// <summary>
/// Units of work on tenant data: a context bound to the tenant, inside a transaction, so row-level security
/// applies to the reads as well as the writes. There is no way to run these without naming the tenant.
/// </summary>
public sealed class TenantData(IDbContextFactory<AppDbContext> databases, NpgsqlDataSource dataSource, ReadReplica? replica = null)
{
    public async Task<T> ReadAsync<T>(string tenantId, Func<AppDbContext, Task<T>> query, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        ArgumentNullException.ThrowIfNull(query);
        return await ReadOnAsync(await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false), tenantId, query, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A read that tolerates a little lag, on a standby when <see cref="ReadReplica"/> has one; on the primary when the
    /// standby fails it for being away, so a standby that stops costs no request. Never for a read that must see the
    /// caller's own write.
    /// </summary>
    public async Task<T> ReadLaggingAsync<T>(string tenantId, Func<AppDbContext, Task<T>> query, CancellationToken cancellationToken)
    {
        if (replica is not { IsSeparate: true })
        {
            return await ReadAsync(tenantId, query, cancellationToken).ConfigureAwait(false);
        }

        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        ArgumentNullException.ThrowIfNull(query);
        try
        {
            return await ReadOnAsync(replica.CreateContext(), tenantId, query, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ReadReplica.IsWorthPrimary(ex) && !cancellationToken.IsCancellationRequested)
        {
            return await ReadAsync(tenantId, query, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<T> ReadOnAsync<T>(AppDbContext context, string tenantId, Func<AppDbContext, Task<T>> query, CancellationToken cancellationToken)
    {
        await using var db = context;
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

    /// <summary>
    /// One statement on tenant data without a context, for the trace writer's batches: the tenant is bound
    /// (<see cref="TenantInterceptor.BindSql"/>, as the interceptor binds a context's transactions) and the statement
    /// runs, in one round trip and one transaction (PostgreSQL runs a pipeline up to its Sync as one implicit
    /// transaction), so row-level security checks every row and the setting ends with the transaction. A context's
    /// unit of work costs a context, BEGIN, the binding, the statement and COMMIT: three round trips. For the service's
    /// own warm-up tenant (<see cref="ReservedTenants.WarmUp"/>) the statement runs and is rolled back: its path is
    /// compiled and nothing is kept.
    /// </summary>
    /// <returns>The rows the statement stored (none for the warm-up tenant).</returns>
    public async Task<int> ExecuteAsync(string tenantId, NpgsqlBatchCommand statement, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        ArgumentNullException.ThrowIfNull(statement);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = Bound(connection, tenantId, statement);
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return Kept(tenantId, statement);
    }

    /// <summary>
    /// <see cref="ExecuteAsync"/> with blocking I/O, for a thread of its own that has nothing else to do meanwhile (the
    /// trace writer's): never on the thread pool.
    /// </summary>
    public int Execute(string tenantId, NpgsqlBatchCommand statement)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        ArgumentNullException.ThrowIfNull(statement);
        using var connection = dataSource.OpenConnection();
        using var batch = Bound(connection, tenantId, statement);
        batch.ExecuteNonQuery();
        return Kept(tenantId, statement);
    }

    private static NpgsqlBatch Bound(NpgsqlConnection connection, string tenantId, NpgsqlBatchCommand statement)
    {
        var batch = new NpgsqlBatch(connection);
        var rehearsal = ReservedTenants.IsWarmUp(tenantId);
        if (rehearsal)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
        }

        var bind = new NpgsqlBatchCommand(TenantInterceptor.BindSql);
        bind.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        batch.BatchCommands.Add(bind);
        batch.BatchCommands.Add(statement);
        if (rehearsal)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("ROLLBACK"));
        }

        return batch;
    }

    private static int Kept(string tenantId, NpgsqlBatchCommand statement) =>
        ReservedTenants.IsWarmUp(tenantId) ? 0 : statement.RecordsAffected;
}
