using App.Application.Identity;
using App.Infrastructure.Identity;
using App.Infrastructure.Persistence;
using Microsoft.Extensions.Options;

namespace App.Api.Hosting;

/// <summary>
/// The binary's commands besides serving:
/// <list type="bullet">
/// <item><c>migrate</c>: apply database migrations as the owner role (a release step).</item>
/// <item><c>migrations-script</c>: print the idempotent SQL script of all migrations (a dry run to review).</item>
/// <item><c>rotate-signing-key</c>: retire the current token signing key now.</item>
/// <item><c>audit-verify --tenant &lt;id&gt; [--checkpoints &lt;file&gt;]</c>: verify a tenant's audit chain against checkpoints.</item>
/// <item><c>invite --tenant &lt;id&gt; [--scope "&lt;scopes&gt;"] [--valid-for &lt;d.hh:mm:ss&gt;]</c>: print an invitation code into a tenant, creating the tenant if needed (how tenants start when sign-up is invite-only).</item>
/// <item><c>dev-token --tenant &lt;id&gt; --user &lt;id&gt; --scope "&lt;scopes&gt;"</c>: print an access token (Development only).</item>
/// <item><c>golden [--record] [--prompt &lt;name&gt;] [--min-exact &lt;0..1&gt;]</c>: replay (or re-record) the prompt templates' golden set.</item>
/// </list>
/// </summary>
internal static class Commands
{
    private static readonly string[] Names = ["migrate", "migrations-script", "rotate-signing-key", "dev-token", "audit-verify", "golden", "invite"];

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
            case "migrations-script":
                await Console.Out.WriteAsync(Database.IdempotentScript());
                return true;
            case "rotate-signing-key":
                await MigrateIfConfiguredAsync(app, logger);
                var rotated = await app.Services.GetRequiredService<SigningKeyRing>().RotateNowAsync(CancellationToken.None);
                await Console.Out.WriteLineAsync($"Now signing with {rotated.Signing.Key.KeyId}.");
                return true;
            case "audit-verify":
                await AuditVerifyAsync(app, args);
                return true;
            case "dev-token":
                await DevTokenAsync(app, args, logger);
                return true;
            case "golden":
                await GoldenAsync(app, args);
                return true;
            case "invite":
                await InviteAsync(app, args, logger);
                return true;
            default:
                await Console.Error.WriteLineAsync($"Unknown command '{args[0]}'. Commands: migrate, migrations-script, rotate-signing-key, dev-token, invite, audit-verify, golden, worker.");
                Environment.ExitCode = 2;
                return true;
        }
    }

    private static async Task AuditVerifyAsync(WebApplication app, string[] args)
    {
        var tenant = Option(args, "--tenant");
        if (string.IsNullOrWhiteSpace(tenant))
        {
            await Console.Error.WriteLineAsync("usage: audit-verify --tenant <id> [--checkpoints <file>]");
            Environment.ExitCode = 2;
            return;
        }

        var audit = app.Services.GetRequiredService<App.Infrastructure.Audit.AuditLog>();
        var file = Option(args, "--checkpoints") ?? app.Configuration["Audit:CheckpointFile"];
        var result = string.IsNullOrWhiteSpace(file)
            ? await audit.VerifyAsync(tenant, CancellationToken.None)
            : await audit.VerifyAgainstAsync(tenant, App.Infrastructure.Audit.AuditLog.ReadCheckpoints(file), CancellationToken.None);
        await Console.Out.WriteLineAsync(System.Text.Json.JsonSerializer.Serialize(result));
        Environment.ExitCode = result.Ok ? 0 : 1;
    }

    private static async Task GoldenAsync(WebApplication app, string[] args)
    {
        var minExact = double.Parse(Option(args, "--min-exact") ?? "1", System.Globalization.CultureInfo.InvariantCulture);
        var directory = Path.Combine(app.Environment.ContentRootPath, app.Services.GetRequiredService<IOptions<App.Application.Prompts.PromptOptions>>().Value.Directory);
        var golden = new App.Api.Prompts.GoldenSet(
            app.Services.GetRequiredService<App.Application.Prompts.IPromptCatalog>(),
            app.Services.GetRequiredService<App.Application.Prompts.PromptRunner>());
        var report = await golden.RunAsync(directory, args.Contains("--record"), minExact, Option(args, "--prompt"), CancellationToken.None);
        await Console.Out.WriteAsync(report.ToText());
        Environment.ExitCode = args.Contains("--record") || report.Passed ? 0 : 1;
    }

    private static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i > 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static async Task DevTokenAsync(WebApplication app, string[] args, ILogger logger)
    {
        if (!app.Environment.IsDevelopment())
        {
            await Console.Error.WriteLineAsync("dev-token only runs with ASPNETCORE_ENVIRONMENT=Development.");
            Environment.ExitCode = 2;
            return;
        }

        var tenant = Option(args, "--tenant") ?? "dev";
        var user = Option(args, "--user") ?? "dev-user";
        var scopes = Scopes.Parse(Option(args, "--scope") ?? app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.DefaultScopes);
        var unknown = Scopes.Unknown(scopes);
        if (unknown.Count > 0)
        {
            await Console.Error.WriteLineAsync($"Unknown scope(s): {string.Join(", ", unknown)}. Known: {string.Join(' ', Scopes.All)}.");
            Environment.ExitCode = 2;
            return;
        }

        await MigrateIfConfiguredAsync(app, logger);
        await app.Services.GetRequiredService<SigningKeyRing>().ReloadAsync(CancellationToken.None);
        var (token, _) = app.Services.GetRequiredService<AccessTokenIssuer>()
            .Issue(new TokenSubject(user, tenant, scopes, "dev-" + Guid.NewGuid().ToString("N")[..12]));
        await Console.Out.WriteLineAsync(token);
    }

    private static async Task InviteAsync(WebApplication app, string[] args, ILogger logger)
    {
        var tenant = Option(args, "--tenant");
        // An operator's invitation makes the tenant's administrator unless told otherwise.
        var scopes = Scopes.Parse(Option(args, "--scope") ?? app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.DefaultScopes + " " + Scopes.Admin);
        var validFor = Invitations.DefaultLifetime;
        var problems = new List<string>();
        if (!App.Application.Identity.Tenant.IsValidId(tenant))
        {
            problems.Add("--tenant: 3-64 lower-case letters, digits or '-'.");
        }

        if (Scopes.Unknown(scopes) is { Count: > 0 } unknown)
        {
            problems.Add($"--scope: unknown scope(s) {string.Join(", ", unknown)}. Known: {string.Join(' ', Scopes.All)}.");
        }

        if (Option(args, "--valid-for") is { } given
            && (!TimeSpan.TryParse(given, System.Globalization.CultureInfo.InvariantCulture, out validFor) || validFor < Invitations.MinLifetime || validFor > Invitations.MaxLifetime))
        {
            problems.Add($"--valid-for: a duration (d.hh:mm:ss) between {Invitations.MinLifetime} and {Invitations.MaxLifetime}.");
        }

        if (problems.Count > 0)
        {
            await Console.Error.WriteLineAsync("usage: invite --tenant <id> [--scope \"<scopes>\"] [--valid-for <d.hh:mm:ss>]\n  " + string.Join("\n  ", problems));
            Environment.ExitCode = 2;
            return;
        }

        await MigrateIfConfiguredAsync(app, logger);
        var issued = await app.Services.GetRequiredService<Invitations>().CreateAsync(tenant!, scopes, validFor, "operator", CancellationToken.None);
        await Console.Out.WriteLineAsync(System.Text.Json.JsonSerializer.Serialize(new { code = issued.Code, tenant = issued.TenantId, scopes = issued.Scopes, expires_at = issued.ExpiresAt }));
    }

    private static Task MigrateIfConfiguredAsync(WebApplication app, ILogger logger) =>
        app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value.MigrateOnStart
            ? Database.MigrateAsync(app.Configuration, logger, CancellationToken.None)
            : Task.CompletedTask;
}
