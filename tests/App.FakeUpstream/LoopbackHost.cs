using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace App.FakeUpstream;

/// <summary>The tests' fake servers (upstream, OIDC issuer, telemetry collector): a slim web app on loopback, quiet.</summary>
public static class LoopbackHost
{
    /// <summary>An app to map endpoints on, listening on <paramref name="url"/> (by default a free loopback port).</summary>
    public static WebApplication Create(string url = "http://127.0.0.1:0")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        return builder.Build();
    }

    /// <summary>Starts the app and answers the address it listens on (<c>http://127.0.0.1:port</c>).</summary>
    public static async Task<string> StartAsync(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        await app.StartAsync();
        return app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }
}
