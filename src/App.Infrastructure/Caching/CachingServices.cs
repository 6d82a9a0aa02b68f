using App.Application.Caching;
using App.Application.Embeddings;
using App.Application.Semantic;
using Microsoft.Extensions.DependencyInjection;

namespace App.Infrastructure.Caching;

/// <summary>The response and embedding caches: each Redis behind an in-process first level, registered as one <see cref="IResponseCache"/> and one <see cref="IEmbeddingCache"/>.</summary>
internal static class CachingServices
{
    public static IServiceCollection AddResponseCache(this IServiceCollection services)
    {
        services.AddSingleton<RedisResponseCache>();
        services.AddSingleton<IResponseCache>(sp => ActivatorUtilities.CreateInstance<LocalFirstResponseCache>(sp, sp.GetRequiredService<RedisResponseCache>()));
        services.AddSingleton<RedisEmbeddingCache>();
        services.AddSingleton<IEmbeddingCache>(sp => ActivatorUtilities.CreateInstance<LocalFirstEmbeddingCache>(sp, sp.GetRequiredService<RedisEmbeddingCache>()));
        services.AddSingleton<ISemanticStore, RedisSemanticStore>();
        return services;
    }
}
