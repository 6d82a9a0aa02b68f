using System.Net;
using System.Text.Json;
using App.Application.Identity;
using App.Infrastructure.Persistence;
using App.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace App.IntegrationTests.Traces;

/// <summary>
/// <c>ConnectionStrings:Postgres</c> naming a primary and a real streaming standby: trace reads are served by the
/// standby, writes stay on the primary, and once the standby stops the same reads are served by the primary with no
/// error.
/// </summary>
public class ReadReplicaTests : GatewayTest
{
    private PostgresReplica _pair = null!;

    protected override async Task StartMoreServersAsync() => _pair = await PostgresReplica.StartAsync();

    protected override async Task<TestDatabase> DatabaseAsync()
    {
        var database = await Databases.OnAsync(_pair.Primary);
        return database with { Runtime = PostgresReplica.BothHosts(database.Runtime, _pair.StandbyPort) };
    }

    protected override Settings Configure(Settings settings) => base.Configure(settings)
        .With("Database:ConnectTimeout", "00:00:02")
        .With("Traces:FlushInterval", "00:00:00.050");

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _pair.DisposeAsync();
    }

    [Fact]
    public async Task TraceReadsGoToTheStandbyAndFallBackToThePrimaryWhenItStops()
    {
        using var reader = Factory.CreateClientFor(Tenant, "reader", Scopes.TracesRead);
        using (var chat = await PostAsync(Chat("«replicated»")))
        {
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }

        var data = Factory.Services.GetRequiredService<TenantData>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await data.ReadAsync(Tenant, db => db.Traces.CountAsync(), default) == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        await _pair.CatchUpAsync();
        Assert.Equal(0, await RuntimeSessionsOnStandbyAsync());

        Assert.Equal(1, await ListedAsync(reader));
        Assert.True(await RuntimeSessionsOnStandbyAsync() > 0, "the trace listing did not open a session on the standby");
        Assert.True(await InRecoveryAsync(data.ReadLaggingAsync), "a lag-tolerant read ran on the primary");
        Assert.False(await InRecoveryAsync(data.ReadAsync), "a read-your-writes read ran on the standby");

        await _pair.StopStandbyAsync();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(1, await ListedAsync(reader));
        }

        Assert.False(await InRecoveryAsync(data.ReadLaggingAsync));
    }

    private delegate Task<bool> Read(string tenant, Func<AppDbContext, Task<bool>> query, CancellationToken cancellationToken);

    private Task<bool> InRecoveryAsync(Read read) =>
        read(Tenant, db => db.Database.SqlQueryRaw<bool>("SELECT pg_is_in_recovery() AS \"Value\"").SingleAsync(), default);

    private static async Task<int> ListedAsync(HttpClient reader)
    {
        using var page = await reader.GetAsync("/v1/traces?limit=10");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        return JsonDocument.Parse(await page.Content.ReadAsStringAsync()).RootElement.GetProperty("data").GetArrayLength();
    }

    private async Task<long> RuntimeSessionsOnStandbyAsync()
    {
        await using var standby = new NpgsqlConnection(_pair.StandbyAdminConnectionString);
        await standby.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE usename = 'app_runtime'", standby);
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
