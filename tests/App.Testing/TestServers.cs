using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using StackExchange.Redis;
using Testcontainers.PostgreSql;
using Testcontainers.Redis;

namespace App.Testing;

/// <summary>
/// Real PostgreSQL and Redis servers for tests. With a Docker engine they come from Testcontainers; without one
/// (as on the CI machine here) from the local Debian server binaries, started on free loopback ports in a temp
/// directory. Either way the tests see the same interface. <c>APP_TEST_SERVERS=local|docker</c> forces a choice.
/// </summary>
public static class TestServers
{
    private static readonly Lazy<bool> DockerAvailable = new(DetectDocker);

    public static bool UseDocker => Environment.GetEnvironmentVariable("APP_TEST_SERVERS") switch
    {
        "local" => false,
        "docker" => true,
        _ => DockerAvailable.Value,
    };

    /// <summary>A Redis; with <paramref name="tls"/>, one from the local binaries listening on a TLS port only.</summary>
    public static async Task<IRedisServer> StartRedisAsync(ServerTls? tls = null)
    {
        IRedisServer server = UseDocker && tls is null ? new ContainerRedis() : new LocalRedis(tls);
        await server.StartAsync();
        return server;
    }

    /// <summary>A PostgreSQL; with <paramref name="tls"/>, one from the local binaries with TLS on.</summary>
    public static async Task<IPostgresServer> StartPostgresAsync(ServerTls? tls = null)
    {
        RemoveStaleDirectories();
        IPostgresServer server = UseDocker && tls is null ? new ContainerPostgres() : new LocalPostgres(tls);
        await ((IStartable)server).StartAsync();
        return server;
    }

    /// <summary>
    /// A test host can be killed before its exit handlers finish; data directories of servers that are no longer
    /// running are removed by the next run.
    /// </summary>
    private static void RemoveStaleDirectories()
    {
        var tmp = new DirectoryInfo(Path.GetTempPath());
        foreach (var dir in tmp.EnumerateDirectories("app-pg-*").Concat(tmp.EnumerateDirectories("app-redis-*")))
        {
            var running = File.Exists(Path.Combine(dir.FullName, "data", "postmaster.pid"));
            if (!running && dir.LastWriteTimeUtc < DateTime.UtcNow.AddMinutes(-10))
            {
                try
                {
                    dir.Delete(recursive: true);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                }
            }
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool DetectDocker()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_HOST")))
        {
            return true;
        }

        const string socket = "/var/run/docker.sock";
        if (!File.Exists(socket))
        {
            return false;
        }

        try
        {
            using var client = new HttpClient(new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
                    return new NetworkStream(s, ownsSocket: true);
                },
            })
            { Timeout = TimeSpan.FromSeconds(2) };
            return client.GetAsync(new Uri("http://docker/_ping")).GetAwaiter().GetResult().IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or SocketException or TaskCanceledException or IOException)
        {
            return false;
        }
    }

    internal static string FindBinary(string name, params string[] candidates)
    {
        foreach (var c in candidates)
        {
            if (File.Exists(c))
            {
                return c;
            }
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':'))
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new InvalidOperationException(
            $"'{name}' was not found and no Docker engine is available. Install the server (deploy/local/install-deps.sh does) or start Docker.");
    }

    internal static Task<(int ExitCode, string Output)> RunWithEnvironmentAsync(string file, IEnumerable<string> args, IDictionary<string, string> environment) =>
        RunAsync(file, args, null, environment);

    internal static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> args, string? asUser = null, IDictionary<string, string>? environment = null)
    {
        var psi = asUser is null ? new ProcessStartInfo(file) : new ProcessStartInfo("runuser");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[key] = value;
        }

        if (asUser is not null)
        {
            psi.ArgumentList.Add("-u");
            psi.ArgumentList.Add(asUser);
            psi.ArgumentList.Add("--");
            psi.ArgumentList.Add(file);
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }

    internal static bool IsRoot => Environment.UserName == "root";

    internal static async Task<string> CreateDatabaseAsync(string adminConnectionString, string name)
    {
        await using (var connection = new NpgsqlConnection(adminConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = name }.ConnectionString;
    }
}

internal interface IStartable
{
    Task StartAsync();
}

public interface IRedisServer : IAsyncDisposable
{
    string ConnectionString { get; }

    Task StartAsync();

    /// <summary>Takes the server away (stopped or paused) so clients see it down.</summary>
    Task StopAsync();
}

public interface IPostgresServer : IAsyncDisposable
{
    /// <summary>A superuser connection string to the <c>postgres</c> database.</summary>
    string AdminConnectionString { get; }

    /// <summary>Creates an empty database and returns a superuser connection string to it.</summary>
    Task<string> CreateDatabaseAsync(string name);

    /// <summary>
    /// Freezes every process of the server (SIGSTOP, or a paused container): connections stay open and nothing
    /// answers, the way a stalled database looks to its clients.
    /// </summary>
    Task PauseAsync();

    /// <summary>Lets a paused server run again.</summary>
    Task ResumeAsync();
}

internal sealed class LocalRedis(ServerTls? tls = null) : IRedisServer
{
    private readonly int _port = TestServers.FreePort();
    private readonly string _dir = Directory.CreateTempSubdirectory("app-redis-").FullName;
    private Process? _process;

    public string ConnectionString => tls is null ? $"127.0.0.1:{_port}" : $"localhost:{_port},ssl=true";

    public async Task StartAsync()
    {
        var binary = TestServers.FindBinary("redis-server", "/usr/bin/redis-server");
        var port = _port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string[] listen = tls is null
            ? ["--port", port]
            : ["--port", "0", "--tls-port", port, "--tls-cert-file", tls.CertificateFile, "--tls-key-file", tls.KeyFile, "--tls-ca-cert-file", tls.CaFile, "--tls-auth-clients", "no"];
        var psi = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _dir,
        };
        foreach (var a in (string[])[.. listen, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _dir, "--protected-mode", "yes", "--pidfile", Path.Combine(_dir, "redis.pid")])
        {
            psi.ArgumentList.Add(a);
        }

        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        ProcessGuard.Track(_process);

        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                var probeOptions = ConfigurationOptions.Parse($"{ConnectionString},connectTimeout=500,abortConnect=true");
                if (tls is not null)
                {
                    probeOptions.TrustIssuer(tls.CaFile);
                }

                await using var probe = await ConnectionMultiplexer.ConnectAsync(probeOptions);
                await probe.GetDatabase().PingAsync();
                return;
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    public async Task StopAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill();
            await p.WaitForExitAsync();
        }

        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal sealed class LocalPostgres(ServerTls? tls = null) : IPostgresServer, IStartable
{
    private const string Password = "postgres-test";
    private readonly int _port = TestServers.FreePort();
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "app-pg-" + Guid.NewGuid().ToString("N")[..12]);
    private string _binDir = string.Empty;
    private string? _user;

    public string AdminConnectionString => $"Host=127.0.0.1;Port={_port};Username=postgres;Password={Password};Database=postgres;Pooling=true";

    public async Task StartAsync()
    {
        _binDir = Path.GetDirectoryName(TestServers.FindBinary(
            "initdb",
            [.. Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin", "initdb")) : []]))!;
        // PostgreSQL refuses to run as root.
        _user = TestServers.IsRoot ? "postgres" : null;
        Directory.CreateDirectory(_dir);
        var pwfile = Path.Combine(_dir, "pw");
        await File.WriteAllTextAsync(pwfile, Password);
        var ssl = string.Empty;
        if (tls is not null)
        {
            // Copied beside the data so the server's user owns them; PostgreSQL refuses a key others can read.
            File.Copy(tls.CertificateFile, Path.Combine(_dir, "server.crt"));
            File.Copy(tls.KeyFile, Path.Combine(_dir, "server.key"));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(Path.Combine(_dir, "server.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            ssl = $" -c ssl=on -c ssl_cert_file={Path.Combine(_dir, "server.crt")} -c ssl_key_file={Path.Combine(_dir, "server.key")}";
        }
        if (_user is not null)
        {
            await TestServers.RunAsync("chown", ["-R", _user, _dir]);
        }

        var data = Path.Combine(_dir, "data");
        var init = await TestServers.RunAsync(Path.Combine(_binDir, "initdb"),
            ["-D", data, "-U", "postgres", "--pwfile", pwfile, "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync", "--locale=C"], _user);
        if (init.ExitCode != 0)
        {
            throw new InvalidOperationException("initdb failed: " + init.Output);
        }

        var options = $"-p {_port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={_dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" + ssl;
        var start = await TestServers.RunAsync(Path.Combine(_binDir, "pg_ctl"),
            ["-D", data, "-o", options, "-l", Path.Combine(_dir, "log"), "-w", "-t", "60", "start"], _user);
        if (start.ExitCode != 0)
        {
            var log = File.Exists(Path.Combine(_dir, "log")) ? await File.ReadAllTextAsync(Path.Combine(_dir, "log")) : string.Empty;
            throw new InvalidOperationException("PostgreSQL did not start: " + start.Output + log);
        }

        ProcessGuard.Track(() => StopSync(data));
    }

    public Task<string> CreateDatabaseAsync(string name) => TestServers.CreateDatabaseAsync(AdminConnectionString, name);

    // The postmaster first, so it forks no new backend meanwhile; on resume, the backends first.
    public Task PauseAsync() => SignalAsync("STOP", ServerProcesses());

    public Task ResumeAsync() => SignalAsync("CONT", ServerProcesses().AsEnumerable().Reverse().ToList());

    private List<int> ServerProcesses()
    {
        var postmaster = int.Parse(File.ReadLines(Path.Combine(_dir, "data", "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture);
        var processes = new List<int> { postmaster };
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid) && pid != postmaster)
            {
                try
                {
                    // Fields after the command name (which may hold spaces, hence the last ')'): state, then the parent.
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    if (int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) == postmaster)
                    {
                        processes.Add(pid);
                    }
                }
                catch (IOException)
                {
                    // the process ended meanwhile
                }
            }
        }

        return processes;
    }

    private static async Task SignalAsync(string signal, IEnumerable<int> processes)
    {
        var result = await TestServers.RunAsync("kill", [$"-{signal}", .. processes.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} failed: {result.Output}");
        }
    }

    private void StopSync(string data) =>
        TestServers.RunAsync(Path.Combine(_binDir, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"], _user).GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await TestServers.RunAsync(Path.Combine(_binDir, "pg_ctl"), ["-D", Path.Combine(_dir, "data"), "-m", "fast", "-w", "stop"], _user);
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

internal sealed class ContainerRedis : IRedisServer
{
    private readonly RedisContainer _container = new RedisBuilder("redis:7-alpine").Build();
    private bool _started;

    public string ConnectionString => _container.GetConnectionString();

    public async Task StartAsync()
    {
        if (_started)
        {
            await _container.UnpauseAsync();
            return;
        }

        await _container.StartAsync();
        _started = true;
    }

    // Pausing keeps the mapped port, which a stop and start would change.
    public Task StopAsync() => _container.PauseAsync();

    public ValueTask DisposeAsync() => _container.DisposeAsync();
}

internal sealed class ContainerPostgres : IPostgresServer, IStartable
{
    private readonly PostgreSqlContainer _container = new PostgreSqlBuilder("postgres:16-alpine").Build();

    public string AdminConnectionString => _container.GetConnectionString();

    public Task StartAsync() => _container.StartAsync();

    public Task<string> CreateDatabaseAsync(string name) => TestServers.CreateDatabaseAsync(AdminConnectionString, name);

    public Task PauseAsync() => _container.PauseAsync();

    public Task ResumeAsync() => _container.UnpauseAsync();

    public ValueTask DisposeAsync() => _container.DisposeAsync();
}

/// <summary>Stops servers this process started even when a test run ends abruptly.</summary>
internal static class ProcessGuard
{
    private static readonly List<Action> Stops = [];

    static ProcessGuard()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            lock (Stops)
            {
                foreach (var stop in Stops)
                {
                    try
                    {
                        stop();
                    }
                    catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
                    {
                    }
                }
            }
        };
    }

    public static void Track(Process process) => Track(() =>
    {
        if (!process.HasExited)
        {
            process.Kill();
        }
    });

    public static void Track(Action stop)
    {
        lock (Stops)
        {
            Stops.Add(stop);
        }
    }
}
