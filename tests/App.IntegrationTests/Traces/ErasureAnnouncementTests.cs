using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using App.Application.Identity;
using App.Testing;

namespace App.IntegrationTests.Traces;

/// <summary>
/// An erasure made elsewhere (another instance, the operator's command) takes hold on an instance that holds the
/// tenant's key in memory for an hour: it hears the announcement on Redis and forgets the key at once.
/// </summary>
public class ErasureAnnouncementTests : GatewayTest
{
    protected override Settings Configure(Settings settings) =>
        base.Configure(settings).Route("offline", Deployment.Offline()).With("Traces:FlushInterval", "00:00:00.050")
            .With("Encryption:DataKeyCache", "01:00:00");

    [Fact]
    public async Task AKeyHeldInMemoryIsForgottenWhenAnotherProcessErasesTheTenant()
    {
        using var reader = Factory.CreateClientFor(Tenant, "reader", Scopes.TracesRead, Scopes.TracesContent);
        using (var chat = await Factory.CreateClientFor(Tenant, "user-1", Scopes.ChatInvoke).PostAsJsonAsync("/v1/chat/completions", Chat("held in memory", model: "offline")))
        {
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }

        string? id = null;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (id is null)
        {
            var page = await reader.GetFromJsonAsync<JsonElement>("/v1/traces");
            id = page.GetProperty("data").GetArrayLength() > 0 ? page.GetProperty("data")[0].GetProperty("id").GetString() : null;
            Assert.True(id is not null || DateTime.UtcNow < deadline, "no trace was stored");
            await Task.Delay(50);
        }

        // Read once: this instance now holds the key, for an hour.
        var before = await reader.GetFromJsonAsync<JsonElement>($"/v1/traces/{id}");
        Assert.False(before.GetProperty("content_erased").GetBoolean());

        var (exitCode, _, stderr) = await WorkerProcess.RunCommandAsync(Factory.Configuration(), "erase-tenant", "--tenant", Tenant);
        Assert.True(exitCode == 0, stderr);

        deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            var after = await reader.GetFromJsonAsync<JsonElement>($"/v1/traces/{id}");
            if (after.GetProperty("content_erased").GetBoolean())
            {
                Assert.Equal(JsonValueKind.Null, after.GetProperty("prompt").ValueKind);
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "the erased key was still used 5 s after the erasure was announced");
            await Task.Delay(50);
        }
    }
}
