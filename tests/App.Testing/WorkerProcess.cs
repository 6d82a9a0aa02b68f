using System.Diagnostics;
using System.Text;

namespace App.Testing;

/// <summary>
/// The service binary started as a separate process in its worker role (<c>App.Api worker</c>), configured by
/// environment variables, as a deployment would run it, so a test can kill it for real.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private WorkerProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>What the process wrote so far (stdout and stderr), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static WorkerProcess Start(IReadOnlyDictionary<string, string?> settings)
    {
        var info = StartInfo(settings, "worker", "--urls", "http://127.0.0.1:0");
        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
        var worker = new WorkerProcess(process);
        process.OutputDataReceived += (_, e) => worker.Append(e.Data);
        process.ErrorDataReceived += (_, e) => worker.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    /// <summary>The service binary serving the API on <paramref name="url"/>, as a deployment runs it.</summary>
    public static WorkerProcess StartService(IReadOnlyDictionary<string, string?> settings, string url)
    {
        var process = Process.Start(StartInfo(settings, "--urls", url)) ?? throw new InvalidOperationException("dotnet did not start.");
        var service = new WorkerProcess(process);
        process.OutputDataReceived += (_, e) => service.Append(e.Data);
        process.ErrorDataReceived += (_, e) => service.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service;
    }

    /// <summary>
    /// Runs one of the binary's commands (<c>App.Api invite ...</c>, say) to its end, configured like a worker:
    /// its exit code, its stdout (the result) and its stderr (its logs).
    /// </summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunCommandAsync(IReadOnlyDictionary<string, string?> settings, params string[] args)
    {
        using var process = Process.Start(StartInfo(settings, args)) ?? throw new InvalidOperationException("dotnet did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // A command that hangs is stopped, not left behind.
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{string.Join(' ', args)}' did not finish within 2 minutes.\n{await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// The same build of the service the test host loads, run from the project directory for its appsettings.json,
    /// configured by environment variables as a deployment would run it.
    /// </summary>
    private static ProcessStartInfo StartInfo(IReadOnlyDictionary<string, string?> settings, params string[] args)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var dll = typeof(Program).Assembly.Location;
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.Combine(Databases.RepositoryRoot(), "src", "App.Api"),
        };
        info.ArgumentList.Add(dll);
        foreach (var arg in args.Concat(["--contentRoot", Path.Combine(Databases.RepositoryRoot(), "src", "App.Api")]))
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (key, value) in settings)
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        return info;
    }

    /// <summary>
    /// Waits until the service answers <paramref name="path"/> with a success through <paramref name="client"/> (60 s at
    /// most); fails with what the process wrote if it ends or never answers.
    /// </summary>
    public async Task WaitUntilServingAsync(HttpClient client, string path = "/health/ready")
    {
        ArgumentNullException.ThrowIfNull(client);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var answer = await client.GetAsync(path);
                if (answer.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !HasExited)
            {
            }

            if (DateTime.UtcNow >= deadline || HasExited)
            {
                throw new TimeoutException($"the service did not answer {path}:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, nothing is flushed or acknowledged.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, as an orchestrator stops a process: a graceful stop, waited for.</summary>
    public async Task StopAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
