using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using App.Application.Identity;
using App.Testing;
using Npgsql;

namespace App.IntegrationTests.Traces;

/// <summary>
/// Content captured before an erasure but written after it (still in the trace writer's queue) is not sealed under the
/// key made after the erasure: it is erased with the rest.
/// </summary>
public class QueuedContentErasureTests : GatewayTest
{
    protected override Settings Configure(Settings settings) =>
        base.Configure(settings).Route("offline", Deployment.Offline()).With("Traces:FlushInterval", "00:00:03");

    [Fact]
    public async Task ContentStillQueuedWhenTheErasureLandsIsNotStored()
    {
        using (var chat = await Factory.CreateClientFor(Tenant, "user-1", Scopes.ChatInvoke).PostAsJsonAsync("/v1/chat/completions", Chat("asked just before the erasure", model: "offline")))
        {
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }

        using (var erase = await Factory.CreateClientFor(Tenant, "boss", Scopes.Admin).DeleteAsync("/admin/content"))
        {
            Assert.Equal(HttpStatusCode.OK, erase.StatusCode);
        }

        var database = await Databases.SharedAsync();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            await using var connection = new NpgsqlConnection(database.Admin);
            await connection.OpenAsync();
            await using var read = new NpgsqlCommand("SELECT prompt_ciphertext IS NULL AND output_ciphertext IS NULL FROM app.traces WHERE tenant_id = $1", connection);
            read.Parameters.Add(new NpgsqlParameter { Value = Tenant });
            if (await read.ExecuteScalarAsync() is bool empty)
            {
                Assert.True(empty, "content captured before the erasure was stored after it, under a new key");
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "the trace was never written");
            await Task.Delay(100);
        }

        // The trace itself is kept, with its metadata.
        using var reader = Factory.CreateClientFor(Tenant, "reader", Scopes.TracesRead, Scopes.TracesContent);
        var page = await reader.GetFromJsonAsync<JsonElement>("/v1/traces");
        Assert.Equal(1, page.GetProperty("data").GetArrayLength());
    }
}
