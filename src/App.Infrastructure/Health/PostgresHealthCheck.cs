using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace App.Infrastructure.Health;

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
