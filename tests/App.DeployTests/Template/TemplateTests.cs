using System.Runtime.Versioning;
using System.Text.Json.Nodes;
using App.Testing;
using Xunit.Abstractions;

namespace App.DeployTests.Template;

/// <summary>
/// The template, packed and installed as README.md says: the new name everywhere the product's was, development
/// secrets of each solution's own, scripts still executable, and <c>--page false</c> leaving out the page cleanly.
/// </summary>
[Collection(TemplateCollection.Name)]
public sealed class TemplateTests(TemplateInstances instances, ITestOutputHelper output)
{
    [Fact]
    public void TheReadmeCommandsPrintWhatItSays()
    {
        output.WriteLine($"pack, install, new and the unit tests took {instances.ReadmeTime.TotalSeconds:F0} s");
        var blocks = FencedBlock.Parse(Repository.Read("README.md")).Where(b => b.Section == TemplateInstances.ReadmeSection).ToList();
        var printed = blocks[blocks.IndexOf(TemplateInstances.ReadmeCommands()) + 1];
        Assert.Equal("text", printed.Language);
        printed.AssertPrintedBy(instances.ReadmeOutput, TemplateInstances.ReadmeCommands().Text);
    }

    [Fact]
    public void TheNewNameLeavesNoAppBehind()
    {
        Assert.True(File.Exists(Path.Combine(instances.Full, "Acme.Assistant.sln")));
        Assert.Equal(
            ["Acme.Assistant.Api", "Acme.Assistant.Application", "Acme.Assistant.Infrastructure"],
            Directory.GetDirectories(Path.Combine(instances.Full, "src")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.True(File.Exists(Path.Combine(instances.Full, "tests", "Acme.Assistant.UnitTests", "Acme.Assistant.UnitTests.csproj")));
        Assert.Contains("namespace Acme.Assistant.Application.Prompts;",
            File.ReadAllText(Path.Combine(instances.Full, "src", "Acme.Assistant.Application", "Prompts", "PromptRunner.cs")), StringComparison.Ordinal);

        var leaks = NameLeaks.Find(instances.Full);
        Assert.True(leaks.Count == 0, "The product's old name is left in:\n" + string.Join('\n', leaks));
    }

    [Fact]
    public void TheNameSearchFindsAPlantedLeak()
    {
        var tree = Directory.CreateTempSubdirectory("leaks-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(tree, "src", "Acme.Assistant.Api"));
            File.WriteAllText(Path.Combine(tree, "src", "Acme.Assistant.Api", "Thing.cs"), "namespace App.Api.Things;\n");
            File.WriteAllText(Path.Combine(tree, "src", "App.Old.csproj"), "<FrameworkReference Include=\"Microsoft.AspNetCore.App\" />\n");
            File.WriteAllText(Path.Combine(tree, "README.md"), "# Acme.Assistant: uses Microsoft.NETCore.App and App.Api\n");
            Directory.CreateDirectory(Path.Combine(tree, "obj"));
            File.WriteAllText(Path.Combine(tree, "obj", "App.Api.dll"), "build output is not looked at");

            var leaks = NameLeaks.Find(tree);

            Assert.Equal(["README.md:1: # Acme.Assistant: uses Microsoft.NETCore.App and App.Api", "src/Acme.Assistant.Api/Thing.cs:1: namespace App.Api.Things;", "src/App.Old.csproj: name"],
                leaks.Order(StringComparer.Ordinal));
        }
        finally
        {
            Directory.Delete(tree, recursive: true);
        }
    }

    [Fact]
    public void DevelopmentSecretsAreEachSolutionsOwn()
    {
        var repository = DevelopmentSettings(Repository.Root, "App");
        var full = DevelopmentSettings(instances.Full, "Acme.Assistant");
        var lean = DevelopmentSettings(instances.Lean, "Acme.Lean");

        foreach (var path in new[] { "Encryption.Keys.dev-1", "ConnectionStrings.Postgres", "ConnectionStrings.PostgresMigrations" })
        {
            var values = new[] { repository, full, lean }.Select(s => Value(s, path)).ToList();
            Assert.True(values.Distinct().Count() == 3, $"{path} is shared: {string.Join(" | ", values)}");
        }

        foreach (var settings in new[] { full, lean })
        {
            Assert.Equal(32, Convert.FromBase64String(Value(settings, "Encryption.Keys.dev-1")).Length);
        }

        // The local PostgreSQL is bootstrapped with the same passwords the settings connect with.
        var servers = File.ReadAllText(Path.Combine(instances.Full, "deploy", "local", "servers.sh"));
        foreach (var role in new[] { "Postgres", "PostgresMigrations" })
        {
            var password = Value(full, "ConnectionStrings." + role).Split("Password=")[1];
            Assert.Contains("_password=" + password + " ", servers, StringComparison.Ordinal);
        }
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public async Task TheScriptsStayExecutable()
    {
        var (exitCode, stdout, stderr) = await Tool.RunAsync("git", ["ls-files", "-s"]);
        Assert.True(exitCode == 0, stderr);
        var scripts = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.StartsWith("100755", StringComparison.Ordinal))
            .Select(l => l.Split('\t')[1])
            .ToList();
        Assert.NotEmpty(scripts);
        foreach (var script in scripts)
        {
            var copy = Path.Combine(instances.Full, script.Replace("App.", "Acme.Assistant.", StringComparison.Ordinal));
            Assert.True(File.Exists(copy), $"{script} is not a file in a new solution");
            var mode = File.GetUnixFileMode(copy);
            Assert.True(mode.HasFlag(UnixFileMode.UserExecute), $"{script} is not executable in a new solution (.template.config/template.json, postActions)");
        }
    }

    [Fact]
    public async Task WithoutThePageTheSolutionHasNeitherThePageNorItsBrowserTests()
    {
        Assert.True(File.Exists(Path.Combine(instances.Full, "src", "Acme.Assistant.Api", "wwwroot", "index.html")));
        Assert.True(Directory.Exists(Path.Combine(instances.Full, "tests", "Acme.Assistant.BrowserTests")));
        Assert.False(Directory.Exists(Path.Combine(instances.Lean, "src", "Acme.Lean.Api", "wwwroot")));
        Assert.False(Directory.Exists(Path.Combine(instances.Lean, "tests", "Acme.Lean.BrowserTests")));

        var (exitCode, stdout, stderr) = await Tool.RunAsync("dotnet", ["sln", "Acme.Lean.sln", "list"], workingDirectory: instances.Lean);
        Assert.True(exitCode == 0, stderr);
        Assert.Contains("Acme.Lean.UnitTests", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("BrowserTests", stdout, StringComparison.Ordinal);

        // MSBuild reads the solution more strictly than 'dotnet sln' (a nested project that is not there fails it).
        var validate = await Tool.RunAsync("dotnet", ["msbuild", "Acme.Lean.sln", "-t:ValidateSolutionConfiguration", "-nologo", "-v:q"], workingDirectory: instances.Lean);
        Assert.True(validate.ExitCode == 0, validate.Stdout + validate.Stderr);
    }

    private static JsonNode DevelopmentSettings(string solution, string name) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(solution, "src", name + ".Api", "appsettings.Development.json")))!;

    private static string Value(JsonNode settings, string path)
    {
        var parts = path.Split('.');
        var node = settings;
        foreach (var part in parts[..^1])
        {
            node = node[part]!;
        }

        return (string)node[parts[^1]]!;
    }
}
