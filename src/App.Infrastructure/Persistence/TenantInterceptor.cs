using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace App.Infrastructure.Persistence;

/// <summary>
/// Binds every transaction to the tenant of its <see cref="AppDbContext"/>: right after BEGIN it runs
/// <c>set_config('app.tenant_id', tenant, true)</c>, transaction-local, so the setting can never leak to the next
/// user of a pooled connection. Row-level security policies compare rows against it; with no tenant the setting
/// is empty and every tenant table shows no rows. SaveChanges always runs in a transaction; reads of tenant data go
/// through one too (<see cref="TenantData"/>), so reads are filtered the same way.
/// </summary>
public sealed class TenantInterceptor : DbTransactionInterceptor
{
    /// <summary>The statement that binds a transaction to a tenant (its one parameter, <c>$1</c>).</summary>
    internal const string BindSql = "SELECT set_config('app.tenant_id', $1, true)";

    public override async ValueTask<DbTransaction> TransactionStartedAsync(DbConnection connection, TransactionEndEventData eventData, DbTransaction result, CancellationToken cancellationToken = default)
    {
        await using var command = Bind(connection, eventData, result);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    public override DbTransaction TransactionStarted(DbConnection connection, TransactionEndEventData eventData, DbTransaction result)
    {
        using var command = Bind(connection, eventData, result);
        command.ExecuteNonQuery();
        return result;
    }

    private static DbCommand Bind(DbConnection connection, TransactionEndEventData eventData, DbTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(eventData);
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = BindSql;
        var parameter = command.CreateParameter();
        parameter.Value = (eventData.Context as AppDbContext)?.TenantId ?? string.Empty;
        command.Parameters.Add(parameter);
        return command;
    }
}
