using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace App.Api.Hosting.WarmUp;

/// <summary>Not ready while the API warms up: a load balancer sends it nothing until its request path is compiled.</summary>
internal sealed class WarmUpHealthCheck(SelfWarmUp warmUp) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(warmUp.Done
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy($"warming up ({warmUp.Requests} requests so far)"));
}
