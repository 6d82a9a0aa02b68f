using App.Infrastructure.Resilience;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace App.Infrastructure.Health;

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
