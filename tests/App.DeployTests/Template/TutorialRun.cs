using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using App.Testing;

namespace App.DeployTests.Template;

/// <summary>
/// Follows docs/tutorial.md in a solution: writes each <c>path=</c> block as that file, adds each <c>merge=</c>
/// block's members to that JSON file, runs each <c>bash</c> block (variables it sets carry on to the next) and
/// holds what it printed to the <c>text</c> block after it, and keeps a <c>bash background</c> block running until
/// the service it starts is ready. The service and its servers get free ports through the settings the README
/// documents (<c>APP_URLS</c>, <c>APP_PG_PORT</c>, <c>APP_REDIS_PORT</c> and the connection strings), and the
/// commands' <c>127.0.0.1:5080</c> follows the service's port: the only changes made to what the page says.
/// </summary>
internal sealed partial class TutorialRun(string solution, IReadOnlyDictionary<string, string> baseEnvironment) : IAsyncDisposable
{
    private readonly int _port = TestServers.FreePort();
    // Beside the solution, not in it: the tests search the solution's files.
    private readonly string _state = Path.Combine(Path.GetDirectoryName(solution)!, "tutorial-state.sh");
    private readonly string _log = Path.Combine(Path.GetDirectoryName(solution)!, "tutorial-service.log");
    private Process? _service;

    public async Task FollowAsync(IReadOnlyList<FencedBlock> blocks, Action<string> log)
    {
        var environment = Environment();
        for (var i = 0; i < blocks.Count; i++)
        {
            var block = blocks[i];
            var started = Stopwatch.StartNew();
            if (block.Attribute("path") is { } path)
            {
                var file = Path.Combine(solution, path);
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                await File.WriteAllTextAsync(file, block.Text + "\n");
            }
            else if (block.Attribute("merge") is { } target)
            {
                var file = Path.Combine(solution, target);
                var merged = Merge(JsonNode.Parse(await File.ReadAllTextAsync(file))!.AsObject(), JsonNode.Parse(block.Text)!.AsObject());
                await File.WriteAllTextAsync(file, merged.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            }
            else if (block.Language == "bash" && block.Has("background"))
            {
                await StartServiceAsync(Commands(block), environment);
            }
            else if (block.Language == "bash")
            {
                var printed = await RunAsync(Commands(block), environment);
                if (i + 1 < blocks.Count && blocks[i + 1] is { Language: "text" } expected && expected.Attribute("path") is null)
                {
                    expected.AssertPrintedBy(printed, block.Text);
                    i++;
                }
            }

            log($"{started.Elapsed.TotalSeconds,6:F1} s  {block.Info}: {block.Text.Split('\n')[0]}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_service is null)
        {
            return;
        }

        // As Ctrl+C would: run.sh stops the service, then the PostgreSQL and Redis it started.
        await Tool.RunAsync("kill", ["-INT", _service.Id.ToString(CultureInfo.InvariantCulture)]);
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await _service.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException)
        {
            _service.Kill(entireProcessTree: true);
        }

        _service.Dispose();
    }

    private string Commands(FencedBlock block) =>
        block.Text.Replace("127.0.0.1:5080", "127.0.0.1:" + _port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);

    private async Task<string> RunAsync(string commands, IReadOnlyDictionary<string, string> environment)
    {
        var carried = string.Concat(Assigned().Matches(commands).Select(m => m.Groups[1].Value).Distinct()
            .Select(name => $"declare -p {name} >> '{_state}'\n"));
        var script = $"[ -f '{_state}' ] && source '{_state}'\n{commands}\n{carried}";
        var (exitCode, stdout, stderr) = await Tool.RunAsync("bash", ["-euo", "pipefail", "-c", script],
            timeout: TimeSpan.FromMinutes(10), workingDirectory: solution, environment: environment);
        Assert.True(exitCode == 0, $"This failed ({exitCode}):\n{commands}\n---\n{stdout}{stderr}");
        return stdout + stderr;
    }

    private async Task StartServiceAsync(string command, IReadOnlyDictionary<string, string> environment)
    {
        var log = _log;
        var info = new ProcessStartInfo("bash") { WorkingDirectory = solution, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"exec {command} > '{log}' 2>&1");
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        _service = Process.Start(info)!;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(_service.HasExited, $"{command} stopped:\n{(File.Exists(log) ? await File.ReadAllTextAsync(log) : string.Empty)}");
            try
            {
                if ((await http.GetAsync(new Uri($"http://127.0.0.1:{_port}/health/ready"))).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(500);
        }

        Assert.Fail($"{command} was not ready in 5 minutes:\n{await File.ReadAllTextAsync(log)}");
    }

    private Dictionary<string, string> Environment()
    {
        var pg = TestServers.FreePort().ToString(CultureInfo.InvariantCulture);
        var redis = TestServers.FreePort().ToString(CultureInfo.InvariantCulture);
        var settings = Path.Combine(Directory.GetDirectories(Path.Combine(solution, "src"), "*.Api").Single(), "appsettings.Development.json");
        var connections = JsonNode.Parse(File.ReadAllText(settings))!["ConnectionStrings"]!;
        string Moved(string name) => ((string)connections[name]!).Replace("Port=55432", "Port=" + pg, StringComparison.Ordinal);
        return new Dictionary<string, string>(baseEnvironment)
        {
            ["APP_URLS"] = "http://127.0.0.1:" + _port.ToString(CultureInfo.InvariantCulture),
            ["APP_PG_PORT"] = pg,
            ["APP_REDIS_PORT"] = redis,
            ["ConnectionStrings__Postgres"] = Moved("Postgres"),
            ["ConnectionStrings__PostgresMigrations"] = Moved("PostgresMigrations"),
            ["Redis__ConnectionString"] = "127.0.0.1:" + redis,
        };
    }

    private static JsonObject Merge(JsonObject into, JsonObject from)
    {
        foreach (var (name, value) in from.ToList())
        {
            if (value is JsonObject child && into[name] is JsonObject existing)
            {
                Merge(existing, child);
            }
            else
            {
                into[name] = value?.DeepClone();
            }
        }

        return into;
    }

    [GeneratedRegex(@"^([A-Z][A-Z0-9_]*)=", RegexOptions.Multiline)]
    private static partial Regex Assigned();
}
