using App.Infrastructure.Idempotency;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace App.Infrastructure.Jobs;

/// <summary>The job queue's adapters: the Redis stream, the Postgres store, idempotency and the worker that drains them.</summary>
internal static class JobServices
{
    public static IServiceCollection AddJobs(this IServiceCollection services)
    {
        services.TryAddSingleton(new ProcessRole());
        services.AddSingleton<IdempotencyStore>();
        services.AddSingleton<JobDelivery>();
        services.AddSingleton<JobStore>();
        services.AddHostedService<JobWorker>();
        return services;
    }
}
