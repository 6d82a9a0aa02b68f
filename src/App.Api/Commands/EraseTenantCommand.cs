using System.Text.Json;
using App.Application.Identity;
using App.Infrastructure.Privacy;

namespace App.Api.Commands;

/// <summary>
/// <c>erase-tenant --tenant &lt;id&gt;</c>: erases a tenant's stored content by destroying its data keys, as
/// <c>DELETE /admin/content</c> does for the tenant's own administrator; recorded with actor <c>operator</c>.
/// </summary>
internal static class EraseTenantCommand
{
    public static async Task RunAsync(WebApplication app, string[] args, ILogger logger)
    {
        var tenant = CommandLine.Option(args, "--tenant");
        if (!Tenant.IsValidId(tenant))
        {
            await Console.Error.WriteLineAsync("usage: erase-tenant --tenant <id>\n  --tenant: 3-64 lower-case letters, digits or '-'.");
            Environment.ExitCode = 2;
            return;
        }

        await CommandLine.MigrateIfConfiguredAsync(app, logger);
        var record = await app.Services.GetRequiredService<TenantErasure>().EraseAsync(tenant!, "operator", CancellationToken.None);
        await Console.Out.WriteLineAsync(JsonSerializer.Serialize(record));
    }
}
