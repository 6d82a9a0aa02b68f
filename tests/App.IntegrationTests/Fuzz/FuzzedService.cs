using System.Globalization;
using App.Application.Identity;
using App.Testing;

namespace App.IntegrationTests.Fuzz;

/// <summary>
/// The service the fuzz test attacks, started once for the whole class over a real socket (so the body size limit is
/// Kestrel's own), with a token of every scope.
/// </summary>
public sealed class FuzzedService : IAsyncLifetime
{
    public const int BodyLimit = 65_536;
    private static readonly string[] AllScopes = [Scopes.ChatInvoke, Scopes.JobsWrite, Scopes.TracesRead, Scopes.TracesContent, Scopes.AuditRead, Scopes.Admin];
    private GatewayFactory _factory = null!;

    public HttpClient Client { get; private set; } = null!;

    public string Token { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // A database and a job stream of its own, no workers: the jobs it submits never run, and no other test's
        // workers sweep them up.
        var redis = await SharedServers.RedisAsync();
        _factory = new GatewayFactory(redis.ConnectionString, await Databases.OwnAsync(nameof(FuzzedService)), new Settings()
            .With("Cache:KeyPrefix", $"test:{Guid.NewGuid():N}:")
            .With("Jobs:StreamKey", $"test:{Guid.NewGuid():N}:jobs")
            .With("Jobs:RunWorkers", "false")
            .With("Kestrel:Limits:MaxRequestBodySize", BodyLimit.ToString(CultureInfo.InvariantCulture))
            .Route("gpt", Deployment.Offline("offline")), kestrel: true);
        _factory.StartServer();
        Client = _factory.CreateDefaultClient();
        Token = _factory.MintToken("fuzz-" + Guid.NewGuid().ToString("N")[..10], Guid.NewGuid().ToString(), AllScopes);
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await _factory.DisposeAsync();
    }
}
