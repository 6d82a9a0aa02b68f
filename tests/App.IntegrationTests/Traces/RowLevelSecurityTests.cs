using App.Testing;
using Npgsql;

namespace App.IntegrationTests.Traces;

/// <summary>
/// Row-level security against the real server, as the runtime role the service uses: isolation holds even for
/// a query that forgets its tenant filter, because PostgreSQL applies it.
/// </summary>
public sealed class RowLevelSecurityTests : IAsyncLifetime
{
    private static readonly string[] TenantTables = ["audit_entries", "invitations", "jobs", "passkey_credentials", "refresh_tokens", "tenant_data_keys", "tenants", "traces", "users"];
    private TestDatabase _database = null!;
    private readonly string _a = "rls-a-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _b = "rls-b-" + Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync()
    {
        _database = await Databases.SharedAsync();
        await using var connection = await OpenAsync(_database.Runtime);
        foreach (var tenant in (string[])[_a, _a, _b])
        {
            await InTenantAsync(connection, tenant, tx => ExecuteAsync(connection, tx, Insert(tenant)));
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static string Insert(string tenant) =>
        $"INSERT INTO app.traces (tenant_id, id, model_alias, status, started_at, latency_ms, token_source, cached, streamed, retries, fallback_used, classification) " +
        $"VALUES ('{tenant}', '{Guid.NewGuid()}', 'm', 'ok', now(), 1, 'none', false, false, 0, false, 'none')";

    private static async Task<NpgsqlConnection> OpenAsync(string connectionString)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static async Task InTenantAsync(NpgsqlConnection connection, string? tenant, Func<NpgsqlTransaction, Task> work)
    {
        await using var tx = await connection.BeginTransactionAsync();
        if (tenant is not null)
        {
            await using var bind = new NpgsqlCommand("SELECT set_config('app.tenant_id', @t, true)", connection, tx);
            bind.Parameters.AddWithValue("t", tenant);
            await bind.ExecuteNonQueryAsync();
        }

        await work(tx);
        await tx.CommitAsync();
    }

    private static async Task<int> ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection, tx);
        return await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> CountAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string where = "true")
    {
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM app.traces WHERE {where}", connection, tx);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task EveryTenantTableHasRowSecurityEnabledAndForced()
    {
        // Found in the catalog, not listed by hand: a table added later with a tenant_id and no row security fails here.
        await using var connection = await OpenAsync(_database.Admin);
        await using var command = new NpgsqlCommand("""
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   EXISTS (SELECT FROM pg_policies p WHERE p.schemaname = 'app' AND p.tablename = c.relname)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'app' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND (c.relname = 'tenants' OR EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
            ORDER BY c.relname
            """, connection);
        var found = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var table = reader.GetString(0);
            found.Add(table);
            Assert.True(reader.GetBoolean(1), $"{table}: row security enabled");
            Assert.True(reader.GetBoolean(2), $"{table}: row security forced");
            Assert.True(reader.GetBoolean(3), $"{table}: has a policy");
        }

        Assert.Equal(TenantTables, found);
    }

    [Fact]
    public async Task CrossTenantSelectUpdateAndDeleteTouchNothing()
    {
        await using var connection = await OpenAsync(_database.Runtime);
        await InTenantAsync(connection, _b, async tx =>
        {
            Assert.Equal(0, await CountAsync(connection, tx, $"tenant_id = '{_a}'"));
            Assert.Equal(0, await ExecuteAsync(connection, tx, $"UPDATE app.traces SET status = 'error' WHERE tenant_id = '{_a}'"));
            Assert.Equal(0, await ExecuteAsync(connection, tx, $"DELETE FROM app.traces WHERE tenant_id = '{_a}'"));
            Assert.Equal(1, await CountAsync(connection, tx)); // B sees only its own row
        });
        await InTenantAsync(connection, _a, async tx => Assert.Equal(2, await CountAsync(connection, tx)));
    }

    [Fact]
    public async Task ACrossTenantInsertFails()
    {
        await using var connection = await OpenAsync(_database.Runtime);
        var error = await Assert.ThrowsAsync<PostgresException>(() => InTenantAsync(connection, _b, tx => ExecuteAsync(connection, tx, Insert(_a))));
        Assert.Equal("42501", error.SqlState); // new row violates row-level security policy
    }

    [Fact]
    public async Task NoTenantSetMeansNoRows()
    {
        await using var connection = await OpenAsync(_database.Runtime);
        await InTenantAsync(connection, null, async tx => Assert.Equal(0, await CountAsync(connection, tx)));
        await using var outside = new NpgsqlCommand("SELECT count(*) FROM app.traces", connection);
        Assert.Equal(0L, (long)(await outside.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task WithAPoolOfOneConnectionTenantBSeesNothingOfTenantA()
    {
        var single = new NpgsqlConnectionStringBuilder(_database.Runtime) { MaxPoolSize = 1, ApplicationName = "rls-pool-of-one" }.ConnectionString;
        await using (var first = await OpenAsync(single))
        {
            await InTenantAsync(first, _a, async tx => Assert.Equal(2, await CountAsync(first, tx)));
        }

        // The same physical connection, back from the pool: the setting was transaction-local.
        await using var second = await OpenAsync(single);
        await InTenantAsync(second, _b, async tx => Assert.Equal(0, await CountAsync(second, tx, $"tenant_id = '{_a}'")));
        await using var after = new NpgsqlCommand("SELECT current_setting('app.tenant_id', true)", second);
        Assert.True(string.IsNullOrEmpty((string?)await after.ExecuteScalarAsync()));
    }
}
