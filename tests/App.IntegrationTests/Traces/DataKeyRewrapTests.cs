using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using App.Application.Identity;
using App.Infrastructure.Privacy;
using App.Infrastructure.Security;
using App.Infrastructure.Traces;
using App.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace App.IntegrationTests.Traces;

/// <summary>
/// Retiring a master key: <c>rewrap-data-keys</c> wraps every tenant's data key under the new active key, after which
/// the stored content opens with the new master key alone, and a second run has nothing left to do.
/// </summary>
public class DataKeyRewrapTests : GatewayTest
{
    private const string NewKey = "bmV3LW1hc3Rlci1rZXktbmV3LW1hc3Rlci1rZXktMzI=";

    // Its own database: the re-wrap changes every tenant's keys, which other classes' services could no longer open.
    protected override Task<TestDatabase> DatabaseAsync() => Databases.OwnAsync(GetType().FullName!);

    protected override Settings Configure(Settings settings) =>
        base.Configure(settings).Route("offline", Deployment.Offline()).With("Traces:FlushInterval", "00:00:00.050")
            .With("Encryption:Keys:next", NewKey);

    [Fact]
    public async Task AfterTheRewrapTheContentOpensWithTheNewMasterKeyAlone()
    {
        const string secret = "kept across the key change";
        using (var chat = await Factory.CreateClientFor(Tenant, "user-1", Scopes.ChatInvoke).PostAsJsonAsync("/v1/chat/completions", Chat(secret, model: "offline")))
        {
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }

        var database = await DatabaseAsync();
        var (id, prompt) = await WaitForContentAsync(database);
        Assert.Equal(Factory.Services.GetRequiredService<IOptions<EncryptionOptions>>().Value.ActiveKey, KeyEncryption.KeyIdOf(await WrappedAsync(database)));

        var settings = Factory.Configuration();
        settings["Encryption:ActiveKey"] = "next";
        var (exitCode, stdout, stderr) = await WorkerProcess.RunCommandAsync(settings, "rewrap-data-keys");
        Assert.True(exitCode == 0, stderr);
        var report = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("next", report.GetProperty("active_key").GetString());
        Assert.True(report.GetProperty("rewrapped").GetInt32() >= 1);

        // Only the new master key: the data key unwraps, and the trace's content opens with it.
        var wrapped = await WrappedAsync(database);
        Assert.Equal("next", KeyEncryption.KeyIdOf(wrapped));
        var onlyNew = new KeyEncryption(Options.Create(new EncryptionOptions { ActiveKey = "next", Keys = new() { ["next"] = NewKey } }));
        var keyId = ContentCipher.KeyIdOf(prompt)!.Value;
        var material = onlyNew.Decrypt(wrapped, TenantKeys.Context(Tenant, keyId));
        Assert.Contains(secret, System.Text.Encoding.UTF8.GetString(ContentCipher.Open(material, prompt, TraceContent.Context(Tenant, id, "prompt"))), StringComparison.Ordinal);

        var (_, again, _) = await WorkerProcess.RunCommandAsync(settings, "rewrap-data-keys");
        var second = JsonDocument.Parse(again).RootElement;
        Assert.Equal(0, second.GetProperty("rewrapped").GetInt32());
        Assert.True(second.GetProperty("already_active").GetInt32() >= 1);
    }

    private async Task<(Guid Id, byte[] Prompt)> WaitForContentAsync(TestDatabase database)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            await using var connection = new NpgsqlConnection(database.Admin);
            await connection.OpenAsync();
            await using var read = new NpgsqlCommand("SELECT id, prompt_ciphertext FROM app.traces WHERE tenant_id = $1 AND prompt_ciphertext IS NOT NULL", connection);
            read.Parameters.Add(new NpgsqlParameter { Value = Tenant });
            await using var reader = await read.ExecuteReaderAsync();
            if (await reader.ReadAsync())
            {
                return (reader.GetGuid(0), (byte[])reader[1]);
            }

            Assert.True(DateTime.UtcNow < deadline, "no trace content was stored");
            await Task.Delay(50);
        }
    }

    private async Task<byte[]> WrappedAsync(TestDatabase database)
    {
        await using var connection = new NpgsqlConnection(database.Admin);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand("SELECT wrapped_key FROM app.tenant_data_keys WHERE tenant_id = $1", connection);
        read.Parameters.Add(new NpgsqlParameter { Value = Tenant });
        return (byte[])(await read.ExecuteScalarAsync())!;
    }
}
