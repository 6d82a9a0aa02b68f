using App.Infrastructure.Persistence;
using App.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace App.IntegrationTests.Traces;

/// <summary>
/// <c>app.traces</c> partitioned by month: the maintenance makes the coming months ahead, drops a month past the
/// retention with its rows and keeps the rest, and every partition it makes keeps row-level security, read directly too.
/// </summary>
public sealed class TracePartitionTests
{
    private readonly string _a = "part-a-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _b = "part-b-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task RetentionDropsTheMonthsPastItAndMakesTheNextOnesAheadWithRowSecurity()
    {
        var (database, opened, now, old) = await WithAnOldMonthAsync();
        await using var owner = opened;

        await using (var runtime = new NpgsqlConnection(database.Runtime))
        {
            await runtime.OpenAsync();
            await InsertAsync(runtime, _a, old);
            await InsertAsync(runtime, _a, now);
            await InsertAsync(runtime, _b, now);
            // The runtime role may read a partition directly: its own policy still hides the other tenant's rows.
            Assert.Equal(1, await CountAsync(runtime, _b, $"app.traces_{now:yyyy_MM}"));
            Assert.Equal(1, await CountAsync(runtime, _a, $"app.traces_{old:yyyy_MM}"));
            Assert.Equal(0, await CountAsync(runtime, _b, $"app.traces_{old:yyyy_MM}"));
        }

        var (ahead, dropped) = await TracePartitions.MaintainAsync(owner, now, TimeSpan.FromDays(60), default);

        Assert.Equal([$"traces_{now:yyyy_MM}", $"traces_{now.AddMonths(1):yyyy_MM}", $"traces_{now.AddMonths(2):yyyy_MM}"], ahead);
        Assert.Contains($"traces_{old:yyyy_MM}", dropped);
        var left = await TracePartitions.MonthPartitionsAsync(owner, default);
        Assert.DoesNotContain($"traces_{old:yyyy_MM}", left);
        Assert.All(ahead, p => Assert.Contains(p, left));

        await using (var runtime = new NpgsqlConnection(database.Runtime))
        {
            await runtime.OpenAsync();
            Assert.Equal(1, await CountAsync(runtime, _a, "app.traces"));
        }

        await using var catalog = new NpgsqlConnection(database.Admin);
        await catalog.OpenAsync();
        await using var guarded = new NpgsqlCommand("""
            SELECT count(*) FILTER (WHERE c.relrowsecurity AND c.relforcerowsecurity
                                      AND EXISTS (SELECT FROM pg_policies p WHERE p.schemaname = 'app' AND p.tablename = c.relname)),
                   count(*)
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'app.traces'::regclass
            """, catalog);
        await using var reader = await guarded.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal(reader.GetInt64(1), reader.GetInt64(0));
        Assert.True(reader.GetInt64(1) >= 4, "the month partitions and the default one");
    }

    [Fact]
    public async Task ADropWaitingBehindALongReadHoldsOtherQueriesUpForTheLockTimeoutAtMost()
    {
        var (database, opened, now, old) = await WithAnOldMonthAsync();
        await using var owner = opened;

        // A long read (an export, say) holds the table for 5 s.
        await using var holder = new NpgsqlConnection(database.Admin);
        await holder.OpenAsync();
        await using var hold = await holder.BeginTransactionAsync();
        await using (var read = new NpgsqlCommand("SELECT count(*) FROM app.traces", holder, hold))
        {
            await read.ExecuteScalarAsync();
        }

        var maintenance = TracePartitions.MaintainAsync(owner, now, TimeSpan.FromDays(60), default);
        await Task.Delay(300);

        // Queued behind the waiting drop, a short query gets through once the drop gives up its turn.
        await using var runtime = new NpgsqlConnection(database.Runtime);
        await runtime.OpenAsync();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        await CountAsync(runtime, _a, "app.traces");
        waited.Stop();
        Assert.True(waited.Elapsed < TracePartitions.LockTimeout + TimeSpan.FromSeconds(2.5), $"a query waited {waited.Elapsed.TotalSeconds:0.0} s behind the partition maintenance");

        await Task.Delay(TimeSpan.FromSeconds(5) - waited.Elapsed);
        await hold.CommitAsync();
        var (_, dropped) = await maintenance;
        Assert.Contains($"traces_{old:yyyy_MM}", dropped);
        await using var setting = new NpgsqlCommand("SHOW lock_timeout", owner);
        Assert.Equal("0", (string?)await setting.ExecuteScalarAsync());
    }

    [Fact]
    public async Task TracesStoredBeforePartitioningAreKeptInTheirMonths()
    {
        var database = await Databases.EmptyAsync();
        var now = DateTimeOffset.UtcNow;
        var old = now.AddMonths(-3);
        await using (var dataSource = NpgsqlDataSource.Create(database.Owner))
        await using (var db = new AppDbContext((DbContextOptions<AppDbContext>)App.Infrastructure.Persistence.Database.Configure(new DbContextOptionsBuilder<AppDbContext>(), dataSource).Options))
        {
            await db.GetService<IMigrator>().MigrateAsync("20261207001704_IdempotencyPerUser");
        }

        await using (var runtime = new NpgsqlConnection(database.Runtime))
        {
            await runtime.OpenAsync();
            await InsertAsync(runtime, _a, old);
            await InsertAsync(runtime, _a, now);
            await InsertAsync(runtime, _b, now);
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:PostgresMigrations"] = database.Owner }).Build();
        await App.Infrastructure.Persistence.Database.MigrateAsync(configuration, NullLogger.Instance, default);

        await using (var runtime = new NpgsqlConnection(database.Runtime))
        {
            await runtime.OpenAsync();
            Assert.Equal(2, await CountAsync(runtime, _a, "app.traces"));
            Assert.Equal(1, await CountAsync(runtime, _a, $"app.traces_{old:yyyy_MM}"));
            Assert.Equal(1, await CountAsync(runtime, _b, $"app.traces_{now:yyyy_MM}"));
            Assert.Equal(0, await CountAsync(runtime, _a, "app.traces_default"));
        }
    }

    /// <summary>A fresh database whose partitions start five months back, and the owner's open connection.</summary>
    private static async Task<(TestDatabase Database, NpgsqlConnection Owner, DateTimeOffset Now, DateTimeOffset Old)> WithAnOldMonthAsync()
    {
        var database = await Databases.FreshAsync();
        var now = new DateTimeOffset(DateTime.UtcNow.Year, DateTime.UtcNow.Month, 15, 12, 0, 0, TimeSpan.Zero);
        var old = now.AddMonths(-5);
        var owner = new NpgsqlConnection(database.Owner);
        await owner.OpenAsync();
        await TracePartitions.MaintainAsync(owner, old, retention: null, default);
        return (database, owner, now, old);
    }

    private static async Task InsertAsync(NpgsqlConnection connection, string tenant, DateTimeOffset at)
    {
        await using var tx = await connection.BeginTransactionAsync();
        await BindAsync(connection, tx, tenant);
        await using var insert = new NpgsqlCommand(
            "INSERT INTO app.traces (tenant_id, id, model_alias, status, started_at, latency_ms, token_source, cached, streamed, retries, fallback_used, classification) " +
            "VALUES (@t, @id, 'm', 'ok', @at, 1, 'none', false, false, 0, false, 'none')", connection, tx);
        insert.Parameters.AddWithValue("t", tenant);
        insert.Parameters.AddWithValue("id", Guid.NewGuid());
        insert.Parameters.AddWithValue("at", at);
        await insert.ExecuteNonQueryAsync();
        await tx.CommitAsync();
    }

    private static async Task<long> CountAsync(NpgsqlConnection connection, string tenant, string table)
    {
        await using var tx = await connection.BeginTransactionAsync();
        await BindAsync(connection, tx, tenant);
        await using var count = new NpgsqlCommand($"SELECT count(*) FROM {table}", connection, tx);
        var result = (long)(await count.ExecuteScalarAsync())!;
        await tx.CommitAsync();
        return result;
    }

    private static async Task BindAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string tenant)
    {
        await using var bind = new NpgsqlCommand("SELECT set_config('app.tenant_id', @t, true)", connection, tx);
        bind.Parameters.AddWithValue("t", tenant);
        await bind.ExecuteNonQueryAsync();
    }
}
