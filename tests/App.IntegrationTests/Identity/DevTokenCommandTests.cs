using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using App.Testing;

namespace App.IntegrationTests.Identity;

/// <summary>
/// <c>App.Api dev-token</c>, the quick start's way to a token, run as the binary: Development only, and what it prints
/// is an ordinary access token of this service's issuer.
/// </summary>
public sealed class DevTokenCommandTests : GatewayTest
{
    private Dictionary<string, string?> In(string environment)
    {
        var settings = Factory.Configuration();
        settings["ASPNETCORE_ENVIRONMENT"] = environment;
        return settings;
    }

    [Fact]
    public async Task InDevelopmentItPrintsATokenTheServiceAcceptsAndNowhereElse()
    {
        // The app is started first so the key ring the command signs with is the one the app serves.
        Factory.CreateClient().Dispose();
        var (exitCode, stdout, stderr) = await WorkerProcess.RunCommandAsync(In("Development"), "dev-token", "--tenant", Tenant, "--user", "alice", "--scope", "chat:invoke traces:read");
        Assert.True(exitCode == 0, stderr);
        var token = stdout.Trim();
        Assert.Equal(3, token.Split('.').Length);

        using var client = Factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var me = await client.GetFromJsonAsync<JsonElement>("/auth/me");
        Assert.Equal("alice", me.GetProperty("subject").GetString());
        Assert.Equal(Tenant, me.GetProperty("tenant").GetString());
        Assert.Equal(["chat:invoke", "traces:read"], me.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        using var models = await client.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);

        var production = await WorkerProcess.RunCommandAsync(In("Production"), "dev-token", "--tenant", Tenant);
        Assert.Equal(2, production.ExitCode);
        Assert.Contains("Development", production.Stderr, StringComparison.Ordinal);
        Assert.Empty(production.Stdout.Trim());

        var unknownScope = await WorkerProcess.RunCommandAsync(In("Development"), "dev-token", "--tenant", Tenant, "--scope", "everything");
        Assert.Equal(2, unknownScope.ExitCode);
        Assert.Contains("everything", unknownScope.Stderr, StringComparison.Ordinal);
    }
}
