using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace App.Testing;

/// <summary>Connection strings of a migrated test database: the owner (migrations) and the runtime role (the app).</summary>
public sealed record TestDatabase(string Owner, string Runtime, string Admin);

/// <summary>
/// Databases set up exactly as production is: <c>deploy/postgres/bootstrap.sql</c> creates the roles and the
/// database, then the migrations run as the owner role, and the app connects as the runtime role.
/// </summary>
public static class Databases
{
    public const string OwnerPassword = "owner-test";
    public const string RuntimePassword = "runtime-test";
    private static readonly Lazy<Task<TestDatabase>> SharedDatabase = new(() => CreateAsync("app_tests"));
    private static readonly SemaphoreSlim Bootstrap = new(1, 1);
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<TestDatabase>>> Owned = new(StringComparer.Ordinal);

    /// <summary>One migrated database shared by the tests of a run (they use their own tenants).</summary>
    public static Task<TestDatabase> SharedAsync() => SharedDatabase.Value;

    /// <summary>A fresh migrated database, for tests that change global state (the signing keys).</summary>
    public static Task<TestDatabase> FreshAsync() => CreateAsync("app_" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>
    /// A migrated database of its own for each <paramref name="key"/>, created once per run: for tests whose instances
    /// must not meet other tests' instances in the database. Job workers sweep stale jobs across every tenant (as they
    /// should: in production they share one queue), so a worker of another test class could take over a job a test
    /// left running on purpose and run it against its own upstream.
    /// </summary>
    public static Task<TestDatabase> OwnAsync(string key) =>
        Owned.GetOrAdd(key, k => new Lazy<Task<TestDatabase>>(() => CreateAsync("app_" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(k)))[..12]))).Value;

    /// <summary>A migrated database on a server of the test's own (one it may pause or stop).</summary>
    public static Task<TestDatabase> OnAsync(IPostgresServer server) => CreateAsync("app_" + Guid.NewGuid().ToString("N")[..12], server: server);

    /// <summary>A database with the roles and schema of bootstrap.sql but no migrations applied.</summary>
    public static Task<TestDatabase> EmptyAsync() => CreateAsync("app_" + Guid.NewGuid().ToString("N")[..12], migrate: false);

    /// <summary>Runs a SQL file with psql as the given user (ON_ERROR_STOP).</summary>
    public static async Task<(int ExitCode, string Output)> PsqlAsync(string connectionString, string file)
    {
        var c = new NpgsqlConnectionStringBuilder(connectionString);
        return await TestServers.RunWithEnvironmentAsync(
            Psql(),
            ["-h", c.Host!, "-p", c.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", c.Username!, "-d", c.Database!, "-v", "ON_ERROR_STOP=1", "-q", "-f", file],
            new Dictionary<string, string> { ["PGPASSWORD"] = c.Password! });
    }

    private static string Psql() => TestServers.FindBinary("psql", [.. Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin", "psql")) : []]);

    private static async Task<TestDatabase> CreateAsync(string name, bool migrate = true, IPostgresServer? server = null)
    {
        server ??= await SharedServers.PostgresAsync();
        var admin = new NpgsqlConnectionStringBuilder(server.AdminConnectionString);
        var psql = Psql();
        var script = Path.Combine(RepositoryRoot(), "deploy", "postgres", "bootstrap.sql");
        // The script creates cluster-wide roles: two runs at once would race on them.
        await Bootstrap.WaitAsync();
        (int ExitCode, string Output) result;
        try
        {
            result = await TestServers.RunWithEnvironmentAsync(
            psql,
            ["-h", admin.Host!, "-p", admin.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", admin.Username!, "-d", "postgres",
             "-v", "ON_ERROR_STOP=1", "-q", "-v", $"owner_password={OwnerPassword}", "-v", $"runtime_password={RuntimePassword}", "-v", $"database={name}", "-f", script],
            new Dictionary<string, string> { ["PGPASSWORD"] = admin.Password! });
        }
        finally
        {
            Bootstrap.Release();
        }

        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException("bootstrap.sql failed: " + result.Output);
        }

        string As(string user, string password) => new NpgsqlConnectionStringBuilder(server.AdminConnectionString)
        {
            Database = name,
            Username = user,
            Password = password,
        }.ConnectionString;

        var database = new TestDatabase(As("app_owner", OwnerPassword), As("app_runtime", RuntimePassword), As(admin.Username!, admin.Password!));
        if (!migrate)
        {
            return database;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:PostgresMigrations"] = database.Owner,
        }).Build();
        await App.Infrastructure.Persistence.Database.MigrateAsync(configuration, NullLogger.Instance, CancellationToken.None);
        return database;
    }

    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "App.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("The repository root (App.sln) was not found above " + AppContext.BaseDirectory);
    }
}
