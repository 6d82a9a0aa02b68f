using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace App.Infrastructure.Persistence;

/// <summary>
/// Where reads that tolerate a little lag go (trace listing, a trace, the export, the audit chain's walk). When
/// <c>ConnectionStrings:Postgres</c> names several hosts, the service opens them as one Npgsql multi-host source:
/// writes and read-your-writes paths take the primary (<c>Target Session Attributes=primary</c>), these reads a standby
/// when one answers (<c>prefer-standby</c>). With one host both are the same source.
/// </summary>
public sealed class ReadReplica : IAsyncDisposable, IDisposable
{
    private readonly NpgsqlDataSource _root;
    private readonly DbContextOptions<AppDbContext> _options;

    /// <param name="connectionString">The runtime role's string, already given the service's defaults.</param>
    internal ReadReplica(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        if (builder.ConnectionStringBuilder.Host?.Contains(',', StringComparison.Ordinal) == true)
        {
            var hosts = builder.BuildMultiHost();
            _root = hosts;
            Primary = hosts.WithTargetSession(TargetSessionAttributes.Primary);
            Reads = hosts.WithTargetSession(TargetSessionAttributes.PreferStandby);
        }
        else
        {
            _root = Primary = Reads = builder.Build();
        }

        _options = (DbContextOptions<AppDbContext>)Database.Configure(new DbContextOptionsBuilder<AppDbContext>(), Reads).Options;
    }

    /// <summary>True when the reads may go to another server than the writes.</summary>
    public bool IsSeparate => !ReferenceEquals(Primary, Reads);

    /// <summary>Writes and the reads that must see them.</summary>
    public NpgsqlDataSource Primary { get; }

    /// <summary>Reads that tolerate a little lag: a standby when one answers, else the primary.</summary>
    public NpgsqlDataSource Reads { get; }

    internal AppDbContext CreateContext() => new(_options);

    /// <summary>
    /// True when a read that failed on the standby may run again on the primary: the standby stopped, did not answer,
    /// was shut down or cancelled the statement for a conflict with its replay. A refusal for another reason is not
    /// tried again, since the primary would refuse it too.
    /// </summary>
    public static bool IsWorthPrimary(Exception exception) =>
        DatabaseOutage.IsUnavailable(exception)
        || exception is PostgresException { SqlState: var state } && (state.StartsWith("57", StringComparison.Ordinal) || state.StartsWith("08", StringComparison.Ordinal) || state == PostgresErrorCodes.SerializationFailure)
        || exception is NpgsqlException and not PostgresException
        || exception.InnerException is { } inner && IsWorthPrimary(inner);

    // With one host the container disposes the source as the service it registers; with several it sees only a view.
    public ValueTask DisposeAsync() => IsSeparate ? _root.DisposeAsync() : ValueTask.CompletedTask;

    public void Dispose()
    {
        if (IsSeparate)
        {
            _root.Dispose();
        }
    }
}
