using App.Application.Caching;
using Microsoft.Extensions.DependencyInjection;

namespace App.Infrastructure.Caching;

/// <summary>The response cache: Redis behind an in-process first level, registered as one <see cref="IResponseCache"/>.</summary>
internal static class CachingServices
{
    public static IServiceCollection AddResponseCache(this IServiceCollection services)
    {
        services.AddSingleton<RedisResponseCache>();
        services.AddSingleton<IResponseCache>(sp => ActivatorUtilities.CreateInstance<LocalFirstResponseCache>(sp, sp.GetRequiredService<RedisResponseCache>()));
        return services;
    }
}
