using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using App.Application.Audit;
using App.Application.Identity;
using App.Infrastructure.Audit;
using App.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace App.IntegrationTests.Traces;

/// <summary>The tamper-evident audit trail: a hash chain per tenant, append-only, with checkpoints outside the database.</summary>
public class AuditTrailTests : GatewayTest
{
    private readonly string _checkpoints = Path.Combine(Path.GetTempPath(), $"audit-{Guid.NewGuid():N}.jsonl");

    protected override Settings Configure(Settings settings) => base.Configure(settings).With("Audit:CheckpointFile", _checkpoints);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        File.Delete(_checkpoints);
    }

    private AuditLog Audit => Factory.Services.GetRequiredService<AuditLog>();

    private async Task AppendAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            await Audit.AppendAsync(Tenant, AuditKinds.SignedIn, "user-" + i, null, new { n = i }, CancellationToken.None);
        }
    }

    private async Task<JsonElement> VerifyViaApiAsync()
    {
        var client = Factory.CreateClientFor(Tenant, "auditor", Scopes.AuditRead);
        return await client.GetFromJsonAsync<JsonElement>("/v1/audit/verify");
    }

    private static async Task AsSuperuserAsync(string sql)
    {
        var database = await Databases.SharedAsync();
        await using var connection = new NpgsqlConnection(database.Admin);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task AnIntactChainVerifies()
    {
        await AppendAsync(5);
        var result = await VerifyViaApiAsync();
        Assert.True(result.GetProperty("ok").GetBoolean());
        Assert.Equal(5, result.GetProperty("entries").GetInt64());
    }

    [Fact]
    public async Task EditingAnEntryAsSuperuserIsReportedAtThatEntry()
    {
        await AppendAsync(5);
        await AsSuperuserAsync($"""
            ALTER TABLE app.audit_entries DISABLE TRIGGER audit_entries_no_update_delete;
            UPDATE app.audit_entries SET actor = 'someone-else' WHERE tenant_id = '{Tenant}' AND sequence = 3;
            ALTER TABLE app.audit_entries ENABLE TRIGGER audit_entries_no_update_delete;
            """);
        var result = await VerifyViaApiAsync();
        Assert.False(result.GetProperty("ok").GetBoolean());
        Assert.Equal(3, result.GetProperty("broken_at").GetInt64());
    }

    [Fact]
    public async Task RewritingTheChainConsistentlyIsCaughtByTheCheckpoint()
    {
        await AppendAsync(4);
        Assert.NotEmpty(await Audit.CheckpointAsync(CancellationToken.None));

        // A superuser who knows the hash rule rewrites entry 2 and re-chains everything after it.
        await AsSuperuserAsync($"""
            ALTER TABLE app.audit_entries DISABLE TRIGGER audit_entries_no_update_delete;
            DELETE FROM app.audit_entries WHERE tenant_id = '{Tenant}' AND sequence >= 2;
            ALTER TABLE app.audit_entries ENABLE TRIGGER audit_entries_no_update_delete;
            """);
        await Audit.AppendAsync(Tenant, AuditKinds.SignedIn, "forged", null, null, CancellationToken.None);
        await Audit.AppendAsync(Tenant, AuditKinds.SignedIn, "forged", null, null, CancellationToken.None);
        await Audit.AppendAsync(Tenant, AuditKinds.SignedIn, "forged", null, null, CancellationToken.None);

        Assert.True((await Audit.VerifyAsync(Tenant, CancellationToken.None)).Ok, "the rewritten chain is internally consistent");
        var result = await VerifyViaApiAsync();
        Assert.False(result.GetProperty("ok").GetBoolean());
        Assert.Equal(4, result.GetProperty("broken_at").GetInt64());
    }

    [Fact]
    public async Task DeletingTheTailIsCaughtByTheCheckpoint()
    {
        await AppendAsync(6);
        await Audit.CheckpointAsync(CancellationToken.None);

        // The operator's command, run as the binary: intact, it says so and exits 0.
        var intact = await WorkerProcess.RunCommandAsync(Factory.Configuration(), "audit-verify", "--tenant", Tenant, "--checkpoints", _checkpoints);
        Assert.True(intact.ExitCode == 0, intact.Stderr);
        Assert.True(JsonDocument.Parse(intact.Stdout).RootElement.GetProperty("ok").GetBoolean());

        await AsSuperuserAsync($"""
            ALTER TABLE app.audit_entries DISABLE TRIGGER audit_entries_no_update_delete;
            DELETE FROM app.audit_entries WHERE tenant_id = '{Tenant}' AND sequence > 4;
            ALTER TABLE app.audit_entries ENABLE TRIGGER audit_entries_no_update_delete;
            """);
        Assert.True((await Audit.VerifyAsync(Tenant, CancellationToken.None)).Ok, "a shorter chain is still a valid chain");
        var result = await Audit.VerifyAgainstAsync(Tenant, AuditLog.ReadCheckpoints(_checkpoints), CancellationToken.None);
        Assert.False(result.Ok);
        Assert.Equal(5, result.BrokenAt);
        Assert.Contains("removed", result.Reason, StringComparison.Ordinal);

        var broken = await WorkerProcess.RunCommandAsync(Factory.Configuration(), "audit-verify", "--tenant", Tenant, "--checkpoints", _checkpoints);
        Assert.Equal(1, broken.ExitCode);
        var report = JsonDocument.Parse(broken.Stdout).RootElement;
        Assert.False(report.GetProperty("ok").GetBoolean());
        Assert.Equal(5, report.GetProperty("broken_at").GetInt64());
    }

    [Fact]
    public async Task AForgedCheckpointIsRefused()
    {
        await AppendAsync(2);
        var real = (await Audit.CheckpointAsync(CancellationToken.None)).Single(c => c.Tenant == Tenant);
        var forged = real with { Head = new string('0', 64) };
        var result = await Audit.VerifyAgainstAsync(Tenant, [forged], CancellationToken.None);
        Assert.False(result.Ok);
        Assert.Contains("signature", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheRuntimeRoleCanOnlyReadAndAppendAndTheTriggerStopsEveryoneElse()
    {
        await AppendAsync(1);
        var database = await Databases.SharedAsync();
        foreach (var (connectionString, role) in new[] { (database.Runtime, "runtime"), (database.Owner, "owner") })
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            foreach (var sql in new[] { "UPDATE app.audit_entries SET actor = 'x'", "DELETE FROM app.audit_entries", "TRUNCATE app.audit_entries" })
            {
                await using var tx = await connection.BeginTransactionAsync();
                await using (var bind = new NpgsqlCommand($"SELECT set_config('app.tenant_id', '{Tenant}', true)", connection, tx))
                {
                    await bind.ExecuteNonQueryAsync();
                }

                await using var command = new NpgsqlCommand(sql, connection, tx);
                var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
                Assert.True(error.SqlState == "42501", $"{role}: {sql} gave {error.SqlState} {error.MessageText}");
                await tx.RollbackAsync();
            }
        }

        Assert.True((await Audit.VerifyAsync(Tenant, CancellationToken.None)).Ok);
    }

    [Fact]
    public async Task SecurityEventsLandInTheChain()
    {
        // Reading trace content is audited.
        using (var chat = await PostAsync(Chat("audit me", model: "gpt")))
        {
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }

        var reader = Factory.CreateClientFor(Tenant, "reader", Scopes.TracesRead, Scopes.TracesContent);
        JsonElement page;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        do
        {
            page = await reader.GetFromJsonAsync<JsonElement>("/v1/traces");
        }
        while (page.GetProperty("data").GetArrayLength() == 0 && DateTime.UtcNow < deadline && await Task.Delay(50).ContinueWith(_ => true));

        var id = page.GetProperty("data")[0].GetProperty("id").GetString();
        await reader.GetFromJsonAsync<JsonElement>($"/v1/traces/{id}");

        var result = await VerifyViaApiAsync();
        Assert.True(result.GetProperty("ok").GetBoolean());
        Assert.Equal(1, result.GetProperty("entries").GetInt64());
    }
}
