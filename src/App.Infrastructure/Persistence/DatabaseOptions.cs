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

    /// <summary>
    /// Most connections one instance holds to one server (Npgsql's <c>Maximum Pool Size</c>, set over the string's): a
    /// request that finds them all busy waits at most <see cref="ConnectTimeout"/> and is then a 503 with
    /// <c>Retry-After</c>, so a saturated database sheds load instead of gathering a queue of waiting requests.
    /// </summary>
    public int MaxPoolSize { get; init; } = 50;

    /// <summary>
    /// The runtime role's connection string with the timeouts above, which win over the string's own, and the defaults
    /// of <see cref="PostgresConnectionString"/>.
    /// </summary>
    public string Apply(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(PostgresConnectionString.WithDefaults(connectionString))
        {
            Timeout = (int)Math.Ceiling(ConnectTimeout.TotalSeconds),
            CommandTimeout = (int)Math.Ceiling(CommandTimeout.TotalSeconds),
            MaxPoolSize = MaxPoolSize,
            // After a command timeout Npgsql sends the server a cancel request and by default waits for the statement
            // to end: the connection is given up at once instead, since a server that stalled would not end it.
            CancellationTimeout = -1,
        };
        return builder.ConnectionString;
    }
}
