using App.Infrastructure.Resilience;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
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

/// <summary>Degraded when some model alias has every deployment's circuit open; lists each deployment's state.</summary>
internal sealed class CircuitHealthCheck(ModelRoutes routes) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var d in routes.Deployments)
        {
            data[d.Id] = d.Circuit.ToString();
        }

        var down = routes.Routes.Where(r => r.Deployments.All(d => !d.IsAvailable)).Select(r => r.Alias).ToList();
        return Task.FromResult(down.Count == 0
            ? HealthCheckResult.Healthy("All routes have an available deployment.", data)
            : HealthCheckResult.Degraded($"No available deployment for: {string.Join(", ", down)}.", data: data));
    }
}

/// <summary>Unhealthy when PostgreSQL is configured but unreachable; reports itself unused when it is not configured.</summary>
internal sealed class PostgresHealthCheck(IConfiguration configuration, IServiceProvider services) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(configuration.GetConnectionString("Postgres")))
        {
            return HealthCheckResult.Healthy("Not configured (ConnectionStrings:Postgres is empty).");
        }

        try
        {
            await using var command = services.GetRequiredService<NpgsqlDataSource>().CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (NpgsqlException ex)
        {
            return HealthCheckResult.Unhealthy("PostgreSQL is unreachable.", ex);
        }
    }
}
