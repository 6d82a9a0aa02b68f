using App.Infrastructure.Identity;
using App.Infrastructure.Persistence;
using Microsoft.Extensions.Options;

namespace App.Api.Commands;

/// <summary>
/// The binary's commands besides serving:
/// <list type="bullet">
/// <item><c>migrate</c>: apply database migrations as the owner role (a release step).</item>
/// <item><c>traces-retention</c>: make the coming months' trace partitions and drop those past <c>Traces:Retention</c>, as the owner role (daily).</item>
/// <item><c>migrations-script</c>: print the idempotent SQL script of all migrations (a dry run to review).</item>
/// <item><c>rotate-signing-key</c>: retire the current token signing key now.</item>
/// <item><c>audit-verify --tenant &lt;id&gt; [--checkpoints &lt;file&gt;]</c>: verify a tenant's audit chain against checkpoints (<see cref="AuditVerifyCommand"/>).</item>
/// <item><c>invite --tenant &lt;id&gt; [--scope "&lt;scopes&gt;"] [--valid-for &lt;d.hh:mm:ss&gt;]</c>: print an invitation code into a tenant (<see cref="InviteCommand"/>).</item>
/// <item><c>erase-tenant --tenant &lt;id&gt;</c>: erase a tenant's stored content by destroying its data keys (<see cref="EraseTenantCommand"/>).</item>
/// <item><c>rewrap-data-keys</c>: wrap every tenant's data keys under the active master key, as the owner role (<see cref="RewrapDataKeysCommand"/>).</item>
/// <item><c>dev-token --tenant &lt;id&gt; --user &lt;id&gt; --scope "&lt;scopes&gt;"</c>: print an access token, Development only (<see cref="DevTokenCommand"/>).</item>
/// <item><c>golden [--record] [--prompt &lt;name&gt;] [--min-exact &lt;0..1&gt;] [--last-run &lt;file&gt;]</c>: replay (or re-record) the prompt templates' golden set (<see cref="GoldenCommand"/>).</item>
/// </list>
/// </summary>
internal static class CommandLine
{
    private static readonly string[] Names = ["migrate", "migrations-script", "rotate-signing-key", "dev-token", "audit-verify", "golden", "invite", "erase-tenant", "rewrap-data-keys", "traces-retention"];

    public static bool IsCommand(string[] args) => args.Length > 0 && Names.Contains(args[0]);

    public static async Task<bool> RunCommandAsync(this WebApplication app, string[] args)
    {
        if (args.Length == 0 || args[0].StartsWith('-'))
        {
            return false;
        }

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("App.Api.Commands");
        switch (args[0])
        {
            case "migrate":
                await Database.MigrateAsync(app.Configuration, logger, CancellationToken.None);
                return true;
            case "traces-retention":
                await Database.MaintainTracePartitionsAsync(app.Configuration, logger, CancellationToken.None);
                return true;
            case "migrations-script":
                await Console.Out.WriteAsync(Database.IdempotentScript());
                return true;
            case "rotate-signing-key":
                await MigrateIfConfiguredAsync(app, logger);
                var rotated = await app.Services.GetRequiredService<SigningKeyRing>().RotateNowAsync(CancellationToken.None);
                await Console.Out.WriteLineAsync($"Now signing with {rotated.Signing.Key.KeyId}.");
                return true;
            case "audit-verify":
                await AuditVerifyCommand.RunAsync(app, args);
                return true;
            case "dev-token":
                await DevTokenCommand.RunAsync(app, args, logger);
                return true;
            case "golden":
                await GoldenCommand.RunAsync(app, args);
                return true;
            case "invite":
                await InviteCommand.RunAsync(app, args, logger);
                return true;
            case "erase-tenant":
                await EraseTenantCommand.RunAsync(app, args, logger);
                return true;
            case "rewrap-data-keys":
                await RewrapDataKeysCommand.RunAsync(app);
                return true;
            default:
                await Console.Error.WriteLineAsync($"Unknown command '{args[0]}'. Commands: migrate, traces-retention, migrations-script, rotate-signing-key, rewrap-data-keys, dev-token, invite, erase-tenant, audit-verify, golden, worker.");
                Environment.ExitCode = 2;
                return true;
        }
    }

    /// <summary>The value after <paramref name="name"/> in the command's arguments, if any.</summary>
    public static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i > 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>Applies migrations first when <c>Database:MigrateOnStart</c> says so, as the server would.</summary>
    public static Task MigrateIfConfiguredAsync(WebApplication app, ILogger logger) =>
        app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value.MigrateOnStart
            ? Database.MigrateAsync(app.Configuration, logger, CancellationToken.None)
            : Task.CompletedTask;
}
