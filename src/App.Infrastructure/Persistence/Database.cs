using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace App.Infrastructure.Persistence;

/// <summary><c>Database</c>: how the schema is kept up to date.</summary>
public sealed class DatabaseOptions
{
    public const string Section = "Database";

    /// <summary>
    /// Apply pending migrations when the service starts, as <c>ConnectionStrings:PostgresMigrations</c> (the owner
    /// role). Convenient in development; in production run <c>App.Api migrate</c> as a release step instead, so the
    /// running service never holds DDL rights.
    /// </summary>
    public bool MigrateOnStart { get; init; }

    /// <summary>
    /// Longest wait to open a connection or to get one from a full pool (Npgsql's <c>Timeout</c>, whole seconds). A
    /// database that does not answer turns into a 503 with <c>Retry-After</c>, not a request hanging: after at most
    /// <see cref="CommandTimeout"/> plus twice this (Npgsql sends a cancel request over a new connection first).
    /// </summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Longest wait for a statement's answer (Npgsql's <c>Command Timeout</c>, whole seconds); the service's statements are short.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The runtime role's connection string with the timeouts above, which win over the string's own.</summary>
    public string Apply(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Timeout = (int)Math.Ceiling(ConnectTimeout.TotalSeconds),
            CommandTimeout = (int)Math.Ceiling(CommandTimeout.TotalSeconds),
            // After a command timeout Npgsql sends the server a cancel request and by default waits for the statement
            // to end: the connection is given up at once instead, since a server that stalled would not end it.
            CancellationTimeout = -1,
        };
        return builder.ConnectionString;
    }
}

public static partial class Database
{
    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder options, NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options
            .UseNpgsql(dataSource, npgsql => npgsql.MigrationsHistoryTable("__ef_migrations", AppDbContext.Schema))
            .UseSnakeCaseNamingConvention()
            .AddInterceptors(TenantBinding);
    }

    private static readonly TenantInterceptor TenantBinding = new();

    /// <summary>Applies pending migrations as the owner role (<c>ConnectionStrings:PostgresMigrations</c>).</summary>
    public static async Task MigrateAsync(IConfiguration configuration, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var owner = configuration.GetConnectionString("PostgresMigrations") is { Length: > 0 } o
            ? o
            : throw new InvalidOperationException("ConnectionStrings:PostgresMigrations (the schema owner) is required to migrate.");
        await using var dataSource = NpgsqlDataSource.Create(owner);
        await using var db = new AppDbContext(Configure(new DbContextOptionsBuilder<AppDbContext>(), dataSource).Options as DbContextOptions<AppDbContext>
            ?? throw new InvalidOperationException("Unexpected options type."));
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken).ConfigureAwait(false)).ToList();
        if (pending.Count > 0)
        {
            await db.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);
            var names = string.Join(", ", pending);
            LogMigrated(logger, pending.Count, names);
        }
    }

    /// <summary>
    /// The idempotent SQL script of every migration: safe to run on an empty database or on one at any earlier
    /// migration (each step checks the history table). For review before a release, or for DBAs who apply it.
    /// </summary>
    public static string IdempotentScript()
    {
        using var db = new DesignTimeFactory().CreateDbContext([]);
        return db.GetService<Microsoft.EntityFrameworkCore.Migrations.IMigrator>()
            .GenerateScript(options: Microsoft.EntityFrameworkCore.Migrations.MigrationsSqlGenerationOptions.Idempotent);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied {Count} migration(s): {Migrations}")]
    private static partial void LogMigrated(ILogger logger, int count, string migrations);
}

internal sealed class DatabaseMigrator(IOptions<DatabaseOptions> options, IConfiguration configuration, ILogger<DatabaseMigrator> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        options.Value.MigrateOnStart ? Database.MigrateAsync(configuration, logger, cancellationToken) : Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
