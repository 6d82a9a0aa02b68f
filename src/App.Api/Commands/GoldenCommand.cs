using System.Globalization;
using App.Api.Prompts;
using App.Application.Prompts;
using Microsoft.Extensions.Options;

namespace App.Api.Commands;

/// <summary>
/// <c>golden [--record] [--prompt &lt;name&gt;] [--min-exact &lt;0..1&gt;] [--last-run &lt;file&gt;]</c>: replays (or
/// re-records) the prompt templates' golden set and prints the report; exits 1 when a budget fails, unless recording.
/// </summary>
internal static class GoldenCommand
{
    public static async Task RunAsync(WebApplication app, string[] args)
    {
        double? minExact = CommandLine.Option(args, "--min-exact") is { } given ? double.Parse(given, CultureInfo.InvariantCulture) : null;
        var directory = Path.Combine(app.Environment.ContentRootPath, app.Services.GetRequiredService<IOptions<PromptOptions>>().Value.Directory);
        var golden = new GoldenSet(app.Services.GetRequiredService<IPromptCatalog>(), app.Services.GetRequiredService<PromptRunner>());
        var record = args.Contains("--record");
        var report = await golden.RunAsync(directory, record, minExact, CommandLine.Option(args, "--prompt"), CancellationToken.None, CommandLine.Option(args, "--last-run"));
        await Console.Out.WriteAsync(report.ToText());
        Environment.ExitCode = record || report.Passed ? 0 : 1;
    }
}
