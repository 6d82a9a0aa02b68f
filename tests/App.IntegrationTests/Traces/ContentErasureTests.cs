using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using App.Application.Audit;
using App.Application.Identity;
using App.Infrastructure.Privacy;
using App.Infrastructure.Security;
using App.Infrastructure.Traces;
using App.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace App.IntegrationTests.Traces;

/// <summary>Erasure of a tenant's stored content by destroying its data keys, recorded in its audit chain.</summary>
public class ContentErasureTests : GatewayTest
{
    private const string Secret = "the launch code is tangerine-42";

    protected override Settings Configure(Settings settings) =>
        base.Configure(settings).Route("offline", Deployment.Offline()).With("Traces:FlushInterval", "00:00:00.050")
            .With("Encryption:DataKeyCache", "00:00:00");

    private string OtherTenant => "other-" + Tenant;

    private HttpClient ContentReader(string tenant) => Factory.CreateClientFor(tenant, "reader", Scopes.TracesRead, Scopes.TracesContent);

    private HttpClient Admin() => Factory.CreateClientFor(Tenant, "boss", Scopes.Admin);

    private async Task<string> TraceOfAsync(string tenant, string prompt)
    {
        using (var response = await Factory.CreateClientFor(tenant, "user-1", Scopes.ChatInvoke).PostAsJsonAsync("/v1/chat/completions", Chat(prompt, model: "offline")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var page = await ContentReader(tenant).GetFromJsonAsync<JsonElement>("/v1/traces");
            if (page.GetProperty("data").GetArrayLength() > 0)
            {
                return page.GetProperty("data")[0].GetProperty("id").GetString()!;
            }

            Assert.True(DateTime.UtcNow < deadline, "no trace was stored");
            await Task.Delay(50);
        }
    }

    private static async Task<T> AsSuperuserAsync<T>(string sql, Func<NpgsqlDataReader, T> read, params object[] parameters)
    {
        var database = await Databases.SharedAsync();
        await using var connection = new NpgsqlConnection(database.Admin);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        await using var reader = await command.ExecuteReaderAsync();
        return read(reader);
    }

    [Fact]
    public async Task ErasedContentIsUnreadableByAnyKeyWhileOtherTenantsAndTheChainAreIntact()
    {
        var mine = await TraceOfAsync(Tenant, Secret);
        var theirs = await TraceOfAsync(OtherTenant, "their own words");

        var before = await ContentReader(Tenant).GetFromJsonAsync<JsonElement>($"/v1/traces/{mine}");
        Assert.Contains(Secret, before.GetProperty("prompt").GetString(), StringComparison.Ordinal);
        Assert.False(before.GetProperty("content_erased").GetBoolean());

        using var erase = await Admin().DeleteAsync("/admin/content");
        Assert.Equal(HttpStatusCode.OK, erase.StatusCode);
        var record = await erase.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(Tenant, record.GetProperty("tenant").GetString());
        Assert.Equal(1, record.GetProperty("keys_destroyed").GetInt32());

        // The trace is still listed and answered, without its content, marked erased.
        var after = await ContentReader(Tenant).GetFromJsonAsync<JsonElement>($"/v1/traces/{mine}");
        Assert.Equal(mine, after.GetProperty("trace").GetProperty("id").GetString());
        Assert.Equal(JsonValueKind.Null, after.GetProperty("prompt").ValueKind);
        Assert.Equal(JsonValueKind.Null, after.GetProperty("output").ValueKind);
        Assert.True(after.GetProperty("content_erased").GetBoolean());

        // With the database's own access: the ciphertext is still there, and no key there is or was configured opens it.
        var blob = await AsSuperuserAsync("SELECT prompt_ciphertext FROM app.traces WHERE id = $1", r => r.Read() ? (byte[])r[0] : [], Guid.Parse(mine));
        Assert.Equal(ContentCipher.Format, blob[0]);
        var context = TraceContent.Context(Tenant, Guid.Parse(mine), "prompt");
        var encryption = Factory.Services.GetRequiredService<KeyEncryption>();
        var candidates = Factory.Services.GetRequiredService<IOptions<EncryptionOptions>>().Value.Keys.Values.Select(Convert.FromBase64String).ToList();
        var wrapped = await AsSuperuserAsync("SELECT tenant_id, id, wrapped_key FROM app.tenant_data_keys", r =>
        {
            var rows = new List<(string Tenant, Guid Id, byte[] Wrapped)>();
            while (r.Read())
            {
                rows.Add((r.GetString(0), r.GetGuid(1), (byte[])r[2]));
            }

            return rows;
        });
        Assert.DoesNotContain(wrapped, k => k.Tenant == Tenant);
        Assert.Contains(wrapped, k => k.Tenant == OtherTenant);
        candidates.AddRange(wrapped.Select(k => encryption.Decrypt(k.Wrapped, TenantKeys.Context(k.Tenant, k.Id))));
        foreach (var key in candidates)
        {
            Assert.ThrowsAny<CryptographicException>(() => ContentCipher.Open(key, blob, context));
        }

        Assert.ThrowsAny<CryptographicException>(() => encryption.Decrypt(blob, context));

        // Another tenant's content still reads.
        var other = await ContentReader(OtherTenant).GetFromJsonAsync<JsonElement>($"/v1/traces/{theirs}");
        Assert.Contains("their own words", other.GetProperty("prompt").GetString(), StringComparison.Ordinal);

        // The chain verifies and holds the erasure: who, which tenant, how many keys.
        var verified = await Factory.CreateClientFor(Tenant, "auditor", Scopes.AuditRead).GetFromJsonAsync<JsonElement>("/v1/audit/verify");
        Assert.True(verified.GetProperty("ok").GetBoolean());
        var events = await AsSuperuserAsync("SELECT actor, subject, data FROM app.audit_entries WHERE tenant_id = $1 AND kind = $2", r =>
        {
            var rows = new List<(string Actor, string Subject, string Data)>();
            while (r.Read())
            {
                rows.Add((r.GetString(0), r.GetString(1), r.GetString(2)));
            }

            return rows;
        }, Tenant, AuditKinds.ContentErased);
        var recorded = Assert.Single(events);
        Assert.Equal("boss", recorded.Actor);
        Assert.Equal(Tenant, recorded.Subject);
        Assert.Equal(1, JsonDocument.Parse(recorded.Data).RootElement.GetProperty("keys_destroyed").GetInt32());
    }

    [Fact]
    public async Task ErasingTwiceAnswersTheSameAndRecordsOnce()
    {
        await TraceOfAsync(Tenant, Secret);
        using var first = await Admin().DeleteAsync("/admin/content");
        using var second = await Admin().DeleteAsync("/admin/content");
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        var count = await AsSuperuserAsync("SELECT count(*) FROM app.audit_entries WHERE tenant_id = $1 AND kind = $2", r => r.Read() ? r.GetInt64(0) : -1, Tenant, AuditKinds.ContentErased);
        Assert.Equal(1, count);
    }

    [Fact]
    public async Task ErasuresAtOnceRecordOneEventAndAllAnswerIt()
    {
        await TraceOfAsync(Tenant, Secret);
        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Admin().DeleteAsync("/admin/content")));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var bodies = await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync()));
        Assert.Single(bodies.Distinct());
        Assert.Equal(1, JsonDocument.Parse(bodies[0]).RootElement.GetProperty("keys_destroyed").GetInt32());
        var count = await AsSuperuserAsync("SELECT count(*) FROM app.audit_entries WHERE tenant_id = $1 AND kind = $2", r => r.Read() ? r.GetInt64(0) : -1, Tenant, AuditKinds.ContentErased);
        Assert.Equal(1, count);
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task ContentSealedByTheMasterKeyRingReadsAndIsClearedByErasure()
    {
        // As stored before data keys, or while the tenant's key could not be fetched: the master key ring's own format.
        var mine = Guid.Parse(await TraceOfAsync(Tenant, Secret));
        var encryption = Factory.Services.GetRequiredService<KeyEncryption>();
        var legacy = encryption.Encrypt(System.Text.Encoding.UTF8.GetBytes(Secret), TraceContent.Context(Tenant, mine, "prompt"));
        Assert.NotEqual(ContentCipher.Format, legacy[0]);
        await AsSuperuserAsync("UPDATE app.traces SET prompt_ciphertext = $1 WHERE id = $2", r => r.RecordsAffected, legacy, mine);

        var before = await ContentReader(Tenant).GetFromJsonAsync<JsonElement>($"/v1/traces/{mine}");
        Assert.Equal(Secret, before.GetProperty("prompt").GetString());

        using var erase = await Admin().DeleteAsync("/admin/content");
        Assert.Equal(HttpStatusCode.OK, erase.StatusCode);
        var stored = await AsSuperuserAsync("SELECT prompt_ciphertext IS NULL, get_byte(output_ciphertext, 0) FROM app.traces WHERE id = $1", r => r.Read() ? (r.GetBoolean(0), r.GetInt32(1)) : (false, -1), mine);
        Assert.True(stored.Item1, "content sealed by the master key ring is still stored after the erasure");
        Assert.Equal(ContentCipher.Format, stored.Item2);
        var after = await ContentReader(Tenant).GetFromJsonAsync<JsonElement>($"/v1/traces/{mine}");
        Assert.Equal(JsonValueKind.Null, after.GetProperty("prompt").ValueKind);
        Assert.True(after.GetProperty("content_erased").GetBoolean());
    }

    [Fact]
    public async Task AnOperatorErasesATenantWithTheCommand()
    {
        var mine = await TraceOfAsync(Tenant, Secret);
        var (exitCode, stdout, stderr) = await WorkerProcess.RunCommandAsync(Factory.Configuration(), "erase-tenant", "--tenant", Tenant);
        Assert.True(exitCode == 0, stderr);
        var record = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(1, record.GetProperty("keys_destroyed").GetInt32());

        // Another process destroyed the key: this instance, holding keys for no time here, finds it gone.
        var after = await ContentReader(Tenant).GetFromJsonAsync<JsonElement>($"/v1/traces/{mine}");
        Assert.True(after.GetProperty("content_erased").GetBoolean());
        var actor = await AsSuperuserAsync("SELECT actor FROM app.audit_entries WHERE tenant_id = $1 AND kind = $2", r => r.Read() ? r.GetString(0) : null, Tenant, AuditKinds.ContentErased);
        Assert.Equal("operator", actor);

        var (badExit, _, _) = await WorkerProcess.RunCommandAsync(Factory.Configuration(), "erase-tenant");
        Assert.Equal(2, badExit);
    }

    [Fact]
    public async Task OnlyAnAdministratorMayErase()
    {
        using var response = await ContentReader(Tenant).DeleteAsync("/admin/content");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }
}
