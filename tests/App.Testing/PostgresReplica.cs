using System.Globalization;
using Npgsql;

namespace App.Testing;

/// <summary>
/// A primary and a streaming standby made from it (<c>pg_basebackup -R</c>), both from the local PostgreSQL binaries
/// on free loopback ports, whatever <see cref="TestServers"/> would choose: a container's server allows no replication
/// connection from outside. The test that needs it starts it and stops it.
/// </summary>
public sealed class PostgresReplica : IAsyncDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "app-pg-standby-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly string _binDir;
    private readonly string? _user;
    private bool _running;

    private PostgresReplica(IPostgresServer primary, string binDir)
    {
        Primary = primary;
        _binDir = binDir;
        _user = TestServers.IsRoot ? "postgres" : null;
    }

    /// <summary>The primary, a local server of this pair alone.</summary>
    public IPostgresServer Primary { get; }

    public int StandbyPort { get; } = TestServers.FreePort();

    public string StandbyAdminConnectionString =>
        new NpgsqlConnectionStringBuilder(Primary.AdminConnectionString) { Port = StandbyPort, Pooling = false }.ConnectionString;

    public static async Task<PostgresReplica> StartAsync()
    {
        var primary = new LocalPostgres();
        await primary.StartAsync();
        var binDir = Path.GetDirectoryName(TestServers.FindBinary(
            "pg_basebackup",
            [.. Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin", "pg_basebackup")) : []]))!;
        var pair = new PostgresReplica(primary, binDir);
        try
        {
            await pair.StartStandbyAsync();
        }
        catch
        {
            await pair.DisposeAsync();
            throw;
        }

        return pair;
    }

    private async Task StartStandbyAsync()
    {
        Directory.CreateDirectory(_dir);
        if (_user is not null)
        {
            await TestServers.RunAsync("chown", ["-R", _user, _dir]);
        }

        var admin = new NpgsqlConnectionStringBuilder(Primary.AdminConnectionString);
        var data = Path.Combine(_dir, "data");
        // runuser keeps no environment of ours: the password goes in the connection string pg_basebackup writes for the standby too.
        var source = $"host={admin.Host} port={admin.Port} user={admin.Username} password={admin.Password}";
        var backup = await TestServers.RunAsync(Path.Combine(_binDir, "pg_basebackup"), ["-d", source, "-D", data, "-R", "-X", "stream", "--no-sync", "-c", "fast"], _user);
        if (backup.ExitCode != 0)
        {
            throw new InvalidOperationException("pg_basebackup failed: " + backup.Output);
        }

        var options = $"-p {StandbyPort} -c listen_addresses=127.0.0.1 -c unix_socket_directories={_dir} -c hot_standby=on -c max_connections=200";
        var start = await TestServers.RunAsync(Path.Combine(_binDir, "pg_ctl"), ["-D", data, "-o", options, "-l", Path.Combine(_dir, "log"), "-w", "-t", "60", "start"], _user);
        if (start.ExitCode != 0)
        {
            var log = File.Exists(Path.Combine(_dir, "log")) ? await File.ReadAllTextAsync(Path.Combine(_dir, "log")) : string.Empty;
            throw new InvalidOperationException("The standby did not start: " + start.Output + log);
        }

        _running = true;
        ProcessGuard.Track(() => TestServers.RunAsync(Path.Combine(_binDir, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"], _user).GetAwaiter().GetResult());
    }

    /// <summary>The runtime role's string naming the primary, then the standby (Npgsql multi-host).</summary>
    public static string BothHosts(string runtimeConnectionString, int standbyPort)
    {
        var builder = new NpgsqlConnectionStringBuilder(runtimeConnectionString);
        builder.Host = string.Create(CultureInfo.InvariantCulture, $"{builder.Host}:{builder.Port},{builder.Host}:{standbyPort}");
        return builder.ConnectionString;
    }

    /// <summary>Waits until the standby has replayed everything the primary had logged when this was called.</summary>
    public async Task CatchUpAsync()
    {
        string target;
        await using (var primary = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Primary.AdminConnectionString) { Pooling = false }.ConnectionString))
        {
            await primary.OpenAsync();
            // The insert position, not the write position: the test servers commit asynchronously, so a commit another
            // session already sees may still sit in the WAL buffers, behind pg_current_wal_lsn().
            await using var lsn = new NpgsqlCommand("SELECT pg_current_wal_insert_lsn()::text", primary);
            target = (string)(await lsn.ExecuteScalarAsync())!;
        }

        await using var standby = new NpgsqlConnection(StandbyAdminConnectionString);
        await standby.OpenAsync();
        for (var deadline = DateTime.UtcNow.AddSeconds(30); ; await Task.Delay(50))
        {
            await using var replayed = new NpgsqlCommand("SELECT pg_last_wal_replay_lsn() >= @target::pg_lsn", standby);
            replayed.Parameters.AddWithValue("target", target);
            if (await replayed.ExecuteScalarAsync() is true)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The standby did not replay up to {target} in 30 s.");
            }
        }
    }

    /// <summary>Stops the standby as an operator would (fast shutdown: its sessions are ended).</summary>
    public async Task StopStandbyAsync()
    {
        if (_running)
        {
            _running = false;
            var stop = await TestServers.RunAsync(Path.Combine(_binDir, "pg_ctl"), ["-D", Path.Combine(_dir, "data"), "-m", "fast", "-w", "stop"], _user);
            if (stop.ExitCode != 0)
            {
                throw new InvalidOperationException("The standby did not stop: " + stop.Output);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_running)
        {
            _running = false;
            await TestServers.RunAsync(Path.Combine(_binDir, "pg_ctl"), ["-D", Path.Combine(_dir, "data"), "-m", "immediate", "-w", "stop"], _user);
        }

        await Primary.DisposeAsync();
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
