using System.Text.Json;
using App.Infrastructure.Audit;

namespace App.Api.Commands;

/// <summary><c>audit-verify --tenant &lt;id&gt; [--checkpoints &lt;file&gt;]</c>: prints the verification as JSON; exits 1 when the chain does not verify.</summary>
internal static class AuditVerifyCommand
{
    public static async Task RunAsync(WebApplication app, string[] args)
    {
        var tenant = CommandLine.Option(args, "--tenant");
        if (string.IsNullOrWhiteSpace(tenant))
        {
            await Console.Error.WriteLineAsync("usage: audit-verify --tenant <id> [--checkpoints <file>]");
            Environment.ExitCode = 2;
            return;
        }

        var audit = app.Services.GetRequiredService<AuditLog>();
        var file = CommandLine.Option(args, "--checkpoints") ?? app.Configuration["Audit:CheckpointFile"];
        var result = string.IsNullOrWhiteSpace(file)
            ? await audit.VerifyAsync(tenant, CancellationToken.None)
            : await audit.VerifyAgainstAsync(tenant, AuditLog.ReadCheckpoints(file), CancellationToken.None);
        await Console.Out.WriteLineAsync(JsonSerializer.Serialize(result));
        Environment.ExitCode = result.Ok ? 0 : 1;
    }
}
