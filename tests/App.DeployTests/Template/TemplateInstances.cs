using System.Diagnostics;
using App.Testing;

namespace App.DeployTests.Template;

/// <summary>
/// Solutions made from the template by the commands of README.md ("Start a product from it"), run as written, in a
/// template hive of their own (DOTNET_CLI_HOME in a temporary directory, so the machine's installed templates are
/// untouched; NuGet keeps the machine's package folder, so restores stay local): <c>Acme.Assistant</c> with
/// everything, then <c>Acme.Lean</c> made with <c>--page false</c>.
/// </summary>
public sealed class TemplateInstances : IAsyncLifetime
{
    public const string ReadmeSection = "Start a product from it";

    private readonly Stopwatch _clock = new();

    public string Root { get; } = Directory.CreateTempSubdirectory("template-").FullName;

    public string Full => Path.Combine(Root, "Acme.Assistant");

    public string Lean => Path.Combine(Root, "Acme.Lean");

    /// <summary>What the README's commands printed.</summary>
    public string ReadmeOutput { get; private set; } = string.Empty;

    public TimeSpan ReadmeTime { get; private set; }

    public IReadOnlyDictionary<string, string> Environment { get; private set; } = new Dictionary<string, string>();

    internal static FencedBlock ReadmeCommands() =>
        FencedBlock.Parse(Repository.Read("README.md")).First(b => b.Section == ReadmeSection && b.Language == "bash");

    public async Task InitializeAsync()
    {
        if (!OperatingSystem.IsWindows())
        {
            // deploy/local/servers.sh runs PostgreSQL as its own user when run as root: it must reach the solution.
            File.SetUnixFileMode(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        var hive = Path.Combine(Root, "hive");
        var home = System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile);
        var userConfig = Path.Combine(home, ".nuget", "NuGet", "NuGet.Config");
        if (File.Exists(userConfig))
        {
            Directory.CreateDirectory(Path.Combine(hive, ".nuget", "NuGet"));
            File.Copy(userConfig, Path.Combine(hive, ".nuget", "NuGet", "NuGet.Config"));
        }

        Environment = new Dictionary<string, string>
        {
            ["DOTNET_CLI_HOME"] = hive,
            ["NUGET_PACKAGES"] = System.Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(home, ".nuget", "packages"),
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };

        // The one change to the README's commands: the new solution goes to this run's directory, not beside the clone.
        var commands = ReadmeCommands().Text.Replace("../Acme.Assistant", Full, StringComparison.Ordinal);
        _clock.Start();
        var (exitCode, stdout, stderr) = await Tool.RunAsync("bash", ["-euo", "pipefail", "-c", commands],
            timeout: TimeSpan.FromMinutes(15), environment: Environment);
        ReadmeTime = _clock.Elapsed;
        ReadmeOutput = stdout + stderr;
        Assert.True(exitCode == 0, $"The README's commands failed:\n{commands}\n---\n{ReadmeOutput}");

        var lean = await Tool.RunAsync("dotnet", ["new", "ai-gateway", "-n", "Acme.Lean", "-o", Lean, "--page", "false"], environment: Environment);
        Assert.True(lean.ExitCode == 0, lean.Stdout + lean.Stderr);
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // PostgreSQL's files belong to its own user when the tests run as root; the temporary directory is the OS's.
        }

        return Task.CompletedTask;
    }
}
