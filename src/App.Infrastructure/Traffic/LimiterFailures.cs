using App.Application.Traffic;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Traffic;

/// <summary>
/// The limiter's failures to reach Redis, logged at most once per interval, since during an outage every call would
/// otherwise log its own.
/// </summary>
internal sealed partial class LimiterFailures
{
    private readonly ILogger<RedisUsageLimiter> _logger;
    private readonly IOptionsMonitor<TrafficOptions> _options;
    private readonly Throttle _logging;

    public LimiterFailures(ILogger<RedisUsageLimiter> logger, IOptionsMonitor<TrafficOptions> options, TimeProvider time)
    {
        _logger = logger;
        _options = options;
        _logging = new Throttle(TimeSpan.FromSeconds(10), time);
    }

    /// <summary>Notes that <paramref name="operation"/> (admit, lease, give back, settle) failed.</summary>
    public void Failed(string operation, Exception ex)
    {
        if (_logging.TryPass())
        {
            LogUnavailable(operation, ex.GetType().Name, ex.Message, _options.CurrentValue.FailOpen);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rate limit {Operation} failed ({ErrorType}: {Error}); fail open: {FailOpen}")]
    private partial void LogUnavailable(string operation, string errorType, string error, bool failOpen);
}
