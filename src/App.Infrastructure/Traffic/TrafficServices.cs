using App.Application.Traffic;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Traffic;

/// <summary>Rate limits, budgets and usage accounting, registered together so the composition root names them once.</summary>
internal static class TrafficServices
{
    public static IServiceCollection AddTraffic(this IServiceCollection services)
    {
        services.AddOptions<TrafficOptions>().BindConfiguration(TrafficOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TrafficOptions>, TrafficOptionsValidator>();
        services.AddSingleton<RedisUsageLimiter>();
        services.AddSingleton<IUsageLimiter>(sp => sp.GetRequiredService<RedisUsageLimiter>());
        services.AddHostedService(sp => sp.GetRequiredService<RedisUsageLimiter>()); // gives its leases back on stop
        services.AddSingleton<ITokenEstimator, CharacterTokenEstimator>();
        return services;
    }
}
