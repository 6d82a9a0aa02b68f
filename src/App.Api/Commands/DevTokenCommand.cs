using App.Application.Identity;
using App.Infrastructure.Identity;
using Microsoft.Extensions.Options;

namespace App.Api.Commands;

/// <summary><c>dev-token --tenant &lt;id&gt; --user &lt;id&gt; --scope "&lt;scopes&gt;"</c>: prints an access token, in Development only.</summary>
internal static class DevTokenCommand
{
    public static async Task RunAsync(WebApplication app, string[] args, ILogger logger)
    {
        if (!app.Environment.IsDevelopment())
        {
            await Console.Error.WriteLineAsync("dev-token only runs with ASPNETCORE_ENVIRONMENT=Development.");
            Environment.ExitCode = 2;
            return;
        }

        var tenant = CommandLine.Option(args, "--tenant") ?? "dev";
        var user = CommandLine.Option(args, "--user") ?? "dev-user";
        var scopes = Scopes.Parse(CommandLine.Option(args, "--scope") ?? app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.DefaultScopes);
        var unknown = Scopes.Unknown(scopes);
        if (unknown.Count > 0)
        {
            await Console.Error.WriteLineAsync($"Unknown scope(s): {string.Join(", ", unknown)}. Known: {string.Join(' ', Scopes.All)}.");
            Environment.ExitCode = 2;
            return;
        }

        await CommandLine.MigrateIfConfiguredAsync(app, logger);
        await app.Services.GetRequiredService<SigningKeyRing>().ReloadAsync(CancellationToken.None);
        var (token, _) = app.Services.GetRequiredService<AccessTokenIssuer>()
            .Issue(new TokenSubject(user, tenant, scopes, "dev-" + Guid.NewGuid().ToString("N")[..12]));
        await Console.Out.WriteLineAsync(token);
    }
}
