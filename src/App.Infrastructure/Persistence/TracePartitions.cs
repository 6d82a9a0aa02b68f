using System.Globalization;
using Npgsql;

namespace App.Infrastructure.Persistence;

/// <summary>
/// The monthly partitions of <c>app.traces</c> (UTC months of <c>started_at</c>): the current month and the next ones
/// made ahead, and those whose every row is older than <c>Traces:Retention</c> dropped whole. Runs as the schema owner
/// (the runtime role holds no DDL right): after every migration and from the <c>traces-retention</c> command.
/// </summary>
public static class TracePartitions
{
    /// <summary>Months made ahead of the current one, so a new month's rows never land in the default partition.</summary>
    public const int MonthsAhead = 2;

    private const string Prefix = "traces_";

    /// <summary>
    /// How long a partition's DDL waits for its lock on <c>app.traces</c>: a drop or a new month needs the table to
    /// itself, and while it waits behind a long read, every statement on the table queues behind it. Past this it gives
    /// up, lets the queue through, and tries again after <see cref="LockRetryDelay"/>.
    /// </summary>
    public static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan LockRetryDelay = TimeSpan.FromSeconds(2);

    public const int LockAttempts = 15;

    /// <returns>The partitions that exist ahead (made now or before) and those dropped.</returns>
    public static async Task<(IReadOnlyList<string> Ahead, IReadOnlyList<string> Dropped)> MaintainAsync(
        NpgsqlConnection owner, DateTimeOffset now, TimeSpan? retention, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        await using (var set = new NpgsqlCommand("SELECT set_config('lock_timeout', @timeout, false)", owner))
        {
            set.Parameters.AddWithValue("timeout", $"{(int)LockTimeout.TotalMilliseconds}ms");
            await set.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var ahead = new List<string>();
            for (var i = 0; i <= MonthsAhead; i++)
            {
                await using var ensure = new NpgsqlCommand("SELECT app.ensure_trace_partition(@month)", owner);
                ensure.Parameters.AddWithValue("month", now.UtcDateTime.AddMonths(i));
                ahead.Add((string)(await WithLockAsync(ensure, cancellationToken).ConfigureAwait(false))!);
            }

            var dropped = new List<string>();
            if (retention is not { } keep)
            {
                return (ahead, dropped);
            }

            var cutoff = now.UtcDateTime - keep;
            foreach (var name in await MonthPartitionsAsync(owner, cancellationToken).ConfigureAwait(false))
            {
                if (End(name) is { } end && end <= cutoff)
                {
                    await using var drop = new NpgsqlCommand("SELECT app.drop_trace_partition(@name)", owner);
                    drop.Parameters.AddWithValue("name", name);
                    await WithLockAsync(drop, cancellationToken).ConfigureAwait(false);
                    dropped.Add(name);
                }
            }

            return (ahead, dropped);
        }
        finally
        {
            await using var reset = new NpgsqlCommand("RESET lock_timeout", owner);
            await reset.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async Task<object?> WithLockAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.LockNotAvailable && attempt < LockAttempts)
            {
                await Task.Delay(LockRetryDelay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The month partitions, by name (<c>traces_YYYY_MM</c>); the default partition is never dropped.</summary>
    public static async Task<IReadOnlyList<string>> MonthPartitionsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var list = new NpgsqlCommand(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'app.traces'::regclass ORDER BY c.relname",
            connection);
        var names = new List<string>();
        await using var reader = await list.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var name = reader.GetString(0);
            if (End(name) is not null)
            {
                names.Add(name);
            }
        }

        return names;
    }

    /// <summary>The first instant after a month partition's rows, from its name; null for any other name.</summary>
    internal static DateTime? End(string name) =>
        name.StartsWith(Prefix, StringComparison.Ordinal)
        && DateTime.TryParseExact(name[Prefix.Length..], "yyyy_MM", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var first)
            ? first.AddMonths(1)
            : null;
}
