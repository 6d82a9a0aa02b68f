using System.Diagnostics.Metrics;
using System.Security.Authentication;
using App.Application.Telemetry;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace App.Infrastructure.Persistence;

/// <summary>
/// Tells a database that is away (a timeout, a broken or refused connection) from a database that refused the
/// statement, and counts the requests an outage turned away: <c>app.database.unavailable</c>, and one log line per
/// interval with the count, however many requests fail.
/// </summary>
public sealed partial class DatabaseOutage
{
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    // Once per process, never disposed (see LiveInstances).
    private static readonly Meter Meter = new(MeterNames.Database);
    private static readonly Counter<long> Unavailable = Meter.CreateCounter<long>(
        "app.database.unavailable", "{request}", "Requests answered 503 because PostgreSQL did not answer in time.");
    private readonly Throttle _log;
    private readonly ILogger<DatabaseOutage> _logger;
    private long _sinceLog;

    public DatabaseOutage(TimeProvider time, ILogger<DatabaseOutage> logger)
    {
        _log = new Throttle(LogInterval, time);
        _logger = logger;
    }

    /// <summary>The counter at zero, once the metrics pipeline listens.</summary>
    internal static void Baseline() => Unavailable.Add(0);

    /// <summary>
    /// True when the exception, or one it wraps, says the database did not answer rather than said no. A TLS handshake
    /// the database's certificate failed is one: no connection can be had, and the readiness check says so.
    /// </summary>
    public static bool IsUnavailable(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is NpgsqlException { IsTransient: true } or TimeoutException or NpgsqlException { InnerException: AuthenticationException })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Runs start-up work that needs the database, trying again for up to <paramref name="patience"/> while it does not
    /// answer: an instance that starts while the database is slow waits for it instead of failing to start.
    /// </summary>
    public static async Task WhileStartingAsync(Func<CancellationToken, Task> work, TimeSpan patience, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var deadline = DateTime.UtcNow + patience;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await work(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (IsUnavailable(ex) && DateTime.UtcNow < deadline && !cancellationToken.IsCancellationRequested)
            {
                LogWaitingAtStart(logger, attempt, ex.GetType().Name);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(500 * attempt, 5000)), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public void Record(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        Unavailable.Add(1);
        var count = Interlocked.Increment(ref _sinceLog);
        if (_log.TryPass())
        {
            Interlocked.Add(ref _sinceLog, -count);
            LogUnavailable(count, exception.GetType().Name, exception.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL did not answer in time while starting (attempt {Attempt}, {ErrorType}); trying again")]
    private static partial void LogWaitingAtStart(ILogger logger, int attempt, string errorType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL did not answer in time: {Count} request(s) answered 503 since the last report (last: {ErrorType}: {Error})")]
    private partial void LogUnavailable(long count, string errorType, string error);
}
