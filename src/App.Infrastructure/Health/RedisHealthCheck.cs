using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace App.Infrastructure.Health;

/// <summary>
/// Redis is a cache and limiter store, not a hard dependency: when it is down the service degrades, it does not
/// stop. Reporting Unhealthy would pull every instance out of the load balancer at once for an outage the
/// service survives, so this reports Degraded.
/// </summary>
internal sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await redis.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"ping {latency.TotalMilliseconds:0.0} ms");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return HealthCheckResult.Degraded("Redis is unreachable: responses are served uncached.", ex);
        }
    }
}
