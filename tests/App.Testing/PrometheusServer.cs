using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace App.Testing;

/// <summary>
/// A real Prometheus (Debian's package, installed by deploy/local/install-deps.sh --with-prometheus) on a loopback
/// port with a temporary data directory, scraping the given targets every second and evaluating the repository's
/// rule files every second; stopped and removed on dispose. The targets are a file Prometheus watches, so a test can
/// change them, and their labels, while it runs (<see cref="SetTargetsAsync"/>).
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly HttpClient _http;

    private PrometheusServer(Process process, string directory, Uri url)
    {
        _process = process;
        _directory = directory;
        _http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri Url => _http.BaseAddress!;

    private string TargetsFile => Path.Combine(_directory, "targets.json");

    public static Task<PrometheusServer> StartAsync(IEnumerable<string> targets, IEnumerable<string> ruleFiles) =>
        StartAsync(targets.Select(t => new ScrapeTarget(t, new Dictionary<string, string>())), ruleFiles);

    public static async Task<PrometheusServer> StartAsync(IEnumerable<ScrapeTarget> targets, IEnumerable<string> ruleFiles)
    {
        var binary = TestServers.FindBinary("prometheus", "/usr/bin/prometheus");
        var directory = Path.Combine(Path.GetTempPath(), "app-prometheus-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        await WriteTargetsAsync(Path.Combine(directory, "targets.json"), targets);
        var config = string.Join('\n',
        [
            "global:",
            "  scrape_interval: 1s",
            "  scrape_timeout: 1s",
            "  evaluation_interval: 1s",
            "rule_files:",
            .. ruleFiles.Select(f => $"  - '{f}'"),
            "scrape_configs:",
            "  - job_name: app",
            "    file_sd_configs:",
            $"      - files: ['{Path.Combine(directory, "targets.json")}']",
            "        refresh_interval: 1s",
            string.Empty,
        ]);
        var configFile = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(configFile, config);

        var port = TestServers.FreePort();
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            $"--config.file={configFile}",
            $"--storage.tsdb.path={Path.Combine(directory, "data")}",
            $"--web.listen-address=127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
            "--storage.tsdb.retention.time=1h",
            "--log.level=warn",
        })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("prometheus did not start");
        ProcessGuard.Track(process);
        var log = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();

        var server = new PrometheusServer(process, directory, new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/"));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                break;
            }

            try
            {
                using var ready = await server._http.GetAsync("-/ready");
                if (ready.IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        await server.DisposeAsync();
        lock (log)
        {
            throw new InvalidOperationException($"prometheus was not ready within 30 s: {log}");
        }
    }

    /// <summary>Replaces what Prometheus scrapes; it reads the file again within a second.</summary>
    public Task SetTargetsAsync(IEnumerable<ScrapeTarget> targets) => WriteTargetsAsync(TargetsFile, targets);

    /// <summary>Written whole and renamed into place, so that Prometheus never reads half a file.</summary>
    private static async Task WriteTargetsAsync(string file, IEnumerable<ScrapeTarget> targets)
    {
        var groups = targets.Select(t => new { targets = new[] { t.Address }, labels = t.Labels });
        var temporary = file + ".tmp";
        await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(groups));
        File.Move(temporary, file, overwrite: true);
    }

    /// <summary>An instant query; the whole answer's <c>data</c>, or the error Prometheus gave.</summary>
    public async Task<(JsonElement Data, string? Error)> QueryAsync(string query)
    {
        using var response = await _http.PostAsync("api/v1/query", new FormUrlEncodedContent([new("query", query)]));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        return root.GetProperty("status").GetString() == "success"
            ? (root.GetProperty("data").Clone(), null)
            : (default, root.TryGetProperty("error", out var e) ? e.GetString() : response.StatusCode.ToString());
    }

    /// <summary>GET of an API path (e.g. <c>api/v1/alerts</c>), its <c>data</c>.</summary>
    public async Task<JsonElement> GetAsync(string path)
    {
        using var body = JsonDocument.Parse(await _http.GetStringAsync(path));
        return body.RootElement.GetProperty("data").Clone();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }

        await Task.CompletedTask;
    }
}
