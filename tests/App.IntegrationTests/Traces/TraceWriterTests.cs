using App.Application.Traces;
using App.Bench;
using App.Infrastructure.Hosting;
using App.Infrastructure.Persistence;
using App.Infrastructure.Security;
using App.Infrastructure.Traces;
using App.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace App.IntegrationTests.Traces;

public class TraceWriterTests
{
    private static TraceWriter Writer(TenantData data, TraceOptions options) => new(
        data,
        new KeyEncryption(Options.Create(new EncryptionOptions { ActiveKey = "t", Keys = { ["t"] = GatewayFactory.TestEncryptionKey } })),
        Options.Create(options),
        NullLogger<TraceWriter>.Instance);

    private static TraceRecord Row(string tenant) =>
        new() { Id = Guid.CreateVersion7(), TenantId = tenant, ModelAlias = "m", Status = "ok", TokenSource = "provider", StartedAt = DateTimeOffset.UtcNow };

    private static TraceDraft Draft(string tenant) => new(Row(tenant), [("user", "hello")], "hi");

    private static Task<int> StoredAsync(TenantData data, string tenant) =>
        data.ReadAsync(tenant, db => db.Traces.CountAsync(), CancellationToken.None);

    /// <summary>Waits until the tenant has at least <paramref name="count"/> traces stored, or the time is up.</summary>
    private static async Task UntilStoredAsync(TenantData data, string tenant, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (await StoredAsync(data, tenant) < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
    }

    /// <summary>A thread's nice value as the scheduler sees it (<c>/proc/self/task/{id}/stat</c>, Linux).</summary>
    private static int NiceOf(int threadId)
    {
        // Fields after the command name (which may hold spaces, hence the last ')'): state is the first, nice the 17th.
        var stat = File.ReadAllText($"/proc/self/task/{threadId}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16], System.Globalization.CultureInfo.InvariantCulture);
    }

    // One row PostgreSQL refuses for what it holds costs only itself: a NUL in a text column, an alias longer than its
    // column. The statement is split until each is alone; every other row of the batch is stored.
    [Fact]
    public async Task ARowPostgresRefusesIsSetAsideAndEveryOtherRowOfItsBatchIsStored()
    {
        var database = await Databases.SharedAsync();
        await using var dataSource = NpgsqlDataSource.Create(database.Runtime);
        var data = new TenantData(new ContextFactory(dataSource), dataSource);
        var writer = Writer(data, new TraceOptions { BatchSize = 100, FlushInterval = TimeSpan.FromSeconds(30) });
        var tenant = "poison-" + Guid.NewGuid().ToString("N")[..10];
        var good = Enumerable.Range(0, 27).Select(_ => Row(tenant)).ToList();
        TraceRecord Poisoned(string alias, Guid? id = null) => new()
        {
            Id = id ?? Guid.CreateVersion7(),
            TenantId = tenant,
            ModelAlias = alias,
            Status = "ok",
            TokenSource = "provider",
            StartedAt = DateTimeOffset.UtcNow,
        };
        var rows = good.ToList();
        rows.Insert(3, Poisoned("a\u0000b"));
        rows.Insert(15, Poisoned(new string('m', 65)));

        await writer.StartAsync(CancellationToken.None);
        foreach (var row in rows)
        {
            Assert.True(writer.TryRecord(new TraceDraft(row, [("user", "hello")], "hi")));
        }

        await writer.StopAsync(CancellationToken.None);
        var stored = await data.ReadAsync(tenant, db => db.Traces.Select(t => t.Id).ToListAsync(), CancellationToken.None);
        Assert.Equal(good.Select(r => r.Id).Order(), stored.Order());
        Assert.Equal(2, writer.Rejected);
        Assert.Equal(0, writer.Dropped);
        writer.Dispose();
    }

    // A batch whose commit went unanswered (PostgreSQL stalled after committing) is sent again: the traces it holds
    // are already stored, and are neither stored twice nor reported as refused.
    [Fact]
    public async Task ATraceWrittenAgainIsStoredOnceAndNotCountedAsRefused()
    {
        var database = await Databases.SharedAsync();
        await using var dataSource = NpgsqlDataSource.Create(database.Runtime);
        var data = new TenantData(new ContextFactory(dataSource), dataSource);
        var writer = Writer(data, new TraceOptions { BatchSize = 100, FlushInterval = TimeSpan.FromSeconds(30) });
        var tenant = "again-" + Guid.NewGuid().ToString("N")[..10];
        var rows = Enumerable.Range(0, 5).Select(_ => Row(tenant)).ToList();

        await writer.StartAsync(CancellationToken.None);
        foreach (var row in rows.Concat(rows))
        {
            Assert.True(writer.TryRecord(new TraceDraft(row, [("user", "hello")], "hi")));
        }

        await writer.StopAsync(CancellationToken.None);
        var stored = await data.ReadAsync(tenant, db => db.Traces.Select(t => t.Id).ToListAsync(), CancellationToken.None);
        Assert.Equal(rows.Select(r => r.Id).Order(), stored.Order());
        Assert.Equal(0, writer.Rejected);
        Assert.Equal(0, writer.Dropped);
        writer.Dispose();
    }

    // BackgroundService runs ExecuteAsync on the thread pool and never runs it if the host is already stopping:
    // a start token cancelled up front makes that race certain. Traces queued then must still be written at stop.
    [Fact]
    public async Task TracesQueuedBeforeTheWriterLoopEverRanAreWrittenAtStop()
    {
        var database = await Databases.SharedAsync();
        await using var dataSource = NpgsqlDataSource.Create(database.Runtime);
        var data = new TenantData(new ContextFactory(dataSource), dataSource);
        var writer = Writer(data, new TraceOptions { BatchSize = 7 });
        var tenant = "stop-" + Guid.NewGuid().ToString("N")[..10];

        using var stopped = new CancellationTokenSource();
        await stopped.CancelAsync();
        await writer.StartAsync(stopped.Token);
        for (var i = 0; i < 20; i++)
        {
            Assert.True(writer.TryRecord(Draft(tenant)));
        }

        await writer.StopAsync(CancellationToken.None);
        Assert.Equal(20, await StoredAsync(data, tenant));
        Assert.Equal(0, writer.Dropped);
        writer.Dispose();
    }

    // The writer gathers a batch for the flush interval, but the request that fills a batch wakes it: with a
    // 30 s interval, a full batch must be stored long before the interval ends, and a partial one not at all.
    [Fact]
    public async Task AFullBatchIsWrittenWithoutWaitingForTheInterval()
    {
        var database = await Databases.SharedAsync();
        await using var dataSource = NpgsqlDataSource.Create(database.Runtime);
        var data = new TenantData(new ContextFactory(dataSource), dataSource);
        var writer = Writer(data, new TraceOptions { BatchSize = 5, FlushInterval = TimeSpan.FromSeconds(30) });
        var tenant = "full-" + Guid.NewGuid().ToString("N")[..10];
        void Record() => Assert.True(writer.TryRecord(Draft(tenant)));

        await writer.StartAsync(CancellationToken.None);
        for (var i = 0; i < 4; i++)
        {
            Record();
        }

        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(0, await StoredAsync(data, tenant)); // a partial batch waits for the interval

        Record(); // the fifth fills the batch
        await UntilStoredAsync(data, tenant, 5, TimeSpan.FromSeconds(10));
        Assert.Equal(5, await StoredAsync(data, tenant));
        await writer.StopAsync(CancellationToken.None);
        Assert.Equal(0, writer.Dropped);
        writer.Dispose();
    }

    // The writer's thread runs at nice 19 (Traces:LowPriority), so a request's thread takes the core from it at once;
    // with the option off it keeps the priority of the process. Read from /proc, as the scheduler sees it.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TheWritersThreadRunsAtTheLowestPriorityUnlessConfiguredOtherwise(bool lowPriority)
    {
        var database = await Databases.SharedAsync();
        await using var dataSource = NpgsqlDataSource.Create(database.Runtime);
        var data = new TenantData(new ContextFactory(dataSource), dataSource);
        var writer = Writer(data, new TraceOptions { BatchSize = 1, LowPriority = lowPriority });
        var tenant = "nice-" + Guid.NewGuid().ToString("N")[..10];

        await writer.StartAsync(CancellationToken.None);
        Assert.True(writer.TryRecord(Draft(tenant)));
        await UntilStoredAsync(data, tenant, 1, TimeSpan.FromSeconds(10));
        Assert.Equal(1, await StoredAsync(data, tenant));
        var thread = Assert.NotNull(writer.ThreadId);
        var ours = NiceOf(Assert.NotNull(BackgroundPriority.CurrentThreadId()));
        Assert.Equal(lowPriority ? 19 : ours, NiceOf(thread));
        Assert.NotEqual(19, ours);
        await writer.StopAsync(CancellationToken.None);
        writer.Dispose();
    }

    // Admission: below three quarters of the queue a call is admitted at once; from there it waits for the writer to make
    // room and is refused only once Traces:AdmissionWait has passed, so the calls admitted never overflow the queue.
    [Fact]
    public async Task ACallWaitsForRoomOnceTheQueueIsThreeQuartersFullAndIsRefusedOnlyAfterTheAdmissionWait()
    {
        var database = await Databases.SharedAsync();
        await using var dataSource = NpgsqlDataSource.Create(database.Runtime);
        var data = new TenantData(new ContextFactory(dataSource), dataSource);
        var tenant = "admit-" + Guid.NewGuid().ToString("N")[..10];

        // Not started: nothing makes room.
        var stalled = Writer(data, new TraceOptions { QueueCapacity = 8, AdmissionWait = TimeSpan.FromMilliseconds(300) });
        for (var i = 0; i < 6; i++)
        {
            var admitted = stalled.WaitForRoomAsync(CancellationToken.None);
            Assert.True(admitted.IsCompletedSuccessfully, $"call {i} should be admitted at once");
            Assert.True(await admitted);
            Assert.True(stalled.TryRecord(Draft(tenant)));
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var refused = stalled.WaitForRoomAsync(CancellationToken.None);
        Assert.False(refused.IsCompleted);
        Assert.False(await refused);
        Assert.InRange(clock.ElapsedMilliseconds, 290, 5000);
        using (var gaveUp = new CancellationTokenSource(50))
        {
            Assert.False(await stalled.WaitForRoomAsync(gaveUp.Token));
        }

        // The last quarter still takes the traces of calls admitted before.
        Assert.True(stalled.TryRecord(Draft(tenant)));
        Assert.True(stalled.TryRecord(Draft(tenant)));
        Assert.Equal(0, stalled.Dropped);
        stalled.Dispose();

        // Running: a waiting call is let in as soon as a batch is taken, long before its wait is up.
        var writer = Writer(data, new TraceOptions { QueueCapacity = 8, BatchSize = 2, FlushInterval = TimeSpan.FromMilliseconds(100), AdmissionWait = TimeSpan.FromSeconds(30) });
        for (var i = 0; i < 6; i++)
        {
            Assert.True(writer.TryRecord(Draft(tenant)));
        }

        var waiting = writer.WaitForRoomAsync(CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        clock.Restart();
        await writer.StartAsync(CancellationToken.None);
        Assert.True(await waiting);
        Assert.InRange(clock.ElapsedMilliseconds, 0, 10_000);
        await writer.StopAsync(CancellationToken.None);
        Assert.Equal(6, await StoredAsync(data, tenant));
        Assert.Equal(0, writer.Dropped);
        writer.Dispose();
    }

    // More than half the queue waiting: the low-priority thread is not keeping up, and batches go to the thread pool at
    // normal priority until it has. Every trace is still written once, none dropped, and the queue empties.
    [Fact]
    public async Task AWriterThatFellBehindCatchesUpWithoutLosingATrace()
    {
        var database = await Databases.SharedAsync();
        await using var dataSource = NpgsqlDataSource.Create(database.Runtime);
        var data = new TenantData(new ContextFactory(dataSource), dataSource);
        var writer = Writer(data, new TraceOptions { QueueCapacity = 40, BatchSize = 3, FlushInterval = TimeSpan.FromSeconds(30) });
        var tenant = "behind-" + Guid.NewGuid().ToString("N")[..10];
        for (var i = 0; i < 40; i++)
        {
            Assert.True(writer.TryRecord(Draft(tenant)));
        }

        Assert.False(writer.TryRecord(Draft(tenant))); // the 41st: the queue is full
        await writer.StartAsync(CancellationToken.None);
        await UntilStoredAsync(data, tenant, 39, TimeSpan.FromSeconds(20));

        // Thirteen full batches are written without waiting for the interval; the last trace waits for the stop.
        Assert.Equal(39, await StoredAsync(data, tenant));
        await writer.StopAsync(CancellationToken.None);
        Assert.Equal(40, await StoredAsync(data, tenant));
        Assert.Equal(1, writer.Dropped);
        writer.Dispose();
    }

    // The writer's insert skips Entity Framework: the tenant is bound in the same round trip and transaction. Row-level
    // security must still check every row, and the binding must end with the transaction, not stay on the pooled
    // connection for whoever uses it next (one connection in the pool makes the next user the same connection, and
    // without Npgsql's reset on close the binding's own scope is what is tested).
    [Fact]
    public async Task AStatementRunsBoundToItsTenantAndLeavesNothingOnThePooledConnection()
    {
        var database = await Databases.SharedAsync();
        await using var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database.Runtime) { MaxPoolSize = 1, NoResetOnClose = true }.ConnectionString);
        var data = new TenantData(new ContextFactory(dataSource), dataSource);
        var tenant = "bind-" + Guid.NewGuid().ToString("N")[..10];

        Assert.Equal(2, await data.ExecuteAsync(tenant, TraceInsert.Command([Row(tenant), Row(tenant)]), CancellationToken.None));
        await using (var next = await dataSource.OpenConnectionAsync())
        {
            await using var setting = new NpgsqlCommand("SELECT coalesce(current_setting('app.tenant_id', true), '')", next);
            Assert.Equal(string.Empty, await setting.ExecuteScalarAsync());
            await using var visible = new NpgsqlCommand("SELECT count(*) FROM app.traces", next);
            Assert.Equal(0L, await visible.ExecuteScalarAsync()); // no tenant bound: no rows
        }

        // A row of another tenant in the batch: refused by the policy, and nothing of the batch is stored.
        await Assert.ThrowsAsync<PostgresException>(() => data.ExecuteAsync(tenant, TraceInsert.Command([Row(tenant), Row("someone-else")]), CancellationToken.None));
        Assert.Equal(2, await StoredAsync(data, tenant));
    }

    // WebApplicationFactory can dispose the services before the host stops them (seen in CI): a stop after a
    // dispose must not throw, or it hides the test's own result behind an ObjectDisposedException.
    [Fact]
    public async Task StoppingAfterDisposalDoesNotThrow()
    {
        var database = await Databases.SharedAsync();
        await using var dataSource = NpgsqlDataSource.Create(database.Runtime);
        var writer = Writer(new TenantData(new ContextFactory(dataSource), dataSource), new TraceOptions());
        await writer.StartAsync(CancellationToken.None);

        writer.Dispose();
        await writer.StopAsync(CancellationToken.None);
    }
}
