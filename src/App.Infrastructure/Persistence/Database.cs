using App.Application.Traces;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace App.Infrastructure.Persistence;

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
        await using var dataSource = OwnerDataSource(configuration);
        await using var db = new AppDbContext(Configure(new DbContextOptionsBuilder<AppDbContext>(), dataSource).Options as DbContextOptions<AppDbContext>
            ?? throw new InvalidOperationException("Unexpected options type."));
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken).ConfigureAwait(false)).ToList();
        if (pending.Count > 0)
        {
            await db.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);
            var names = string.Join(", ", pending);
            LogMigrated(logger, pending.Count, names);
        }

        await MaintainTracePartitionsAsync(dataSource, configuration, logger, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Makes the trace partitions of the coming months and drops those past <c>Traces:Retention</c>, as the owner role
    /// (<c>ConnectionStrings:PostgresMigrations</c>): the <c>traces-retention</c> command, run daily.
    /// </summary>
    public static async Task MaintainTracePartitionsAsync(IConfiguration configuration, ILogger logger, CancellationToken cancellationToken)
    {
        await using var dataSource = OwnerDataSource(configuration);
        await MaintainTracePartitionsAsync(dataSource, configuration, logger, cancellationToken).ConfigureAwait(false);
    }

    private static async Task MaintainTracePartitionsAsync(NpgsqlDataSource owner, IConfiguration configuration, ILogger logger, CancellationToken cancellationToken)
    {
        var options = configuration.GetSection(TraceOptions.Section).Get<TraceOptions>() ?? new TraceOptions();
        await using var connection = await owner.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var (ahead, dropped) = await TracePartitions.MaintainAsync(connection, DateTimeOffset.UtcNow, options.Retention, cancellationToken).ConfigureAwait(false);
        var made = string.Join(", ", ahead);
        var gone = dropped.Count == 0 ? "none" : string.Join(", ", dropped);
        LogPartitions(logger, made, gone);
    }

    /// <summary>The schema owner's connections (<c>ConnectionStrings:PostgresMigrations</c>), for the commands that run as it.</summary>
    public static NpgsqlDataSource OwnerDataSource(IConfiguration configuration) =>
        NpgsqlDataSource.Create(PostgresConnectionString.WithDefaults(OwnerConnectionString(configuration)));

    private static string OwnerConnectionString(IConfiguration configuration) =>
        configuration.GetConnectionString("PostgresMigrations") is { Length: > 0 } o
            ? o
            : throw new InvalidOperationException("ConnectionStrings:PostgresMigrations (the schema owner) is required to migrate.");

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Trace partitions ahead: {Ahead}; dropped past retention: {Dropped}")]
    private static partial void LogPartitions(ILogger logger, string ahead, string dropped);

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied {Count} migration(s): {Migrations}")]
    private static partial void LogMigrated(ILogger logger, int count, string migrations);
}
