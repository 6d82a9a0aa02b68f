using System.Globalization;
using System.Text.Json;
using App.Application.Identity;
using App.Infrastructure.Identity;
using Microsoft.Extensions.Options;

namespace App.Api.Commands;

/// <summary>
/// <c>invite --tenant &lt;id&gt; [--scope "&lt;scopes&gt;"] [--valid-for &lt;d.hh:mm:ss&gt;]</c>: prints an invitation
/// code into a tenant, creating the tenant if needed (how tenants start when sign-up is invite-only).
/// </summary>
internal static class InviteCommand
{
    public static async Task RunAsync(WebApplication app, string[] args, ILogger logger)
    {
        var tenant = CommandLine.Option(args, "--tenant");
        // An operator's invitation makes the tenant's administrator unless told otherwise.
        var scopes = Scopes.Parse(CommandLine.Option(args, "--scope") ?? app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.DefaultScopes + " " + Scopes.Admin);
        var validFor = Invitations.DefaultLifetime;
        var problems = new List<string>();
        if (!Tenant.IsValidId(tenant))
        {
            problems.Add("--tenant: 3-64 lower-case letters, digits or '-'.");
        }

        if (Scopes.Unknown(scopes) is { Count: > 0 } unknown)
        {
            problems.Add($"--scope: unknown scope(s) {string.Join(", ", unknown)}. Known: {string.Join(' ', Scopes.All)}.");
        }

        if (CommandLine.Option(args, "--valid-for") is { } given
            && (!TimeSpan.TryParse(given, CultureInfo.InvariantCulture, out validFor) || validFor < Invitations.MinLifetime || validFor > Invitations.MaxLifetime))
        {
            problems.Add($"--valid-for: a duration (d.hh:mm:ss) between {Invitations.MinLifetime} and {Invitations.MaxLifetime}.");
        }

        if (problems.Count > 0)
        {
            await Console.Error.WriteLineAsync("usage: invite --tenant <id> [--scope \"<scopes>\"] [--valid-for <d.hh:mm:ss>]\n  " + string.Join("\n  ", problems));
            Environment.ExitCode = 2;
            return;
        }

        await CommandLine.MigrateIfConfiguredAsync(app, logger);
        var issued = await app.Services.GetRequiredService<Invitations>().CreateAsync(tenant!, scopes, validFor, "operator", CancellationToken.None);
        await Console.Out.WriteLineAsync(JsonSerializer.Serialize(new { code = issued.Code, tenant = issued.TenantId, scopes = issued.Scopes, expires_at = issued.ExpiresAt }));
    }
}
