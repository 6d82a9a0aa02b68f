using App.Application.Embeddings;
using App.Application.Gateway;
using App.Application.Guard;
using App.Application.Prompts;
using App.Infrastructure.Audit;
using App.Infrastructure.Caching;
using App.Infrastructure.Health;
using App.Infrastructure.Identity;
using App.Infrastructure.Jobs;
using App.Infrastructure.Persistence;
using App.Infrastructure.Prompts;
using App.Infrastructure.Providers;
using App.Infrastructure.Resilience;
using App.Infrastructure.Telemetry;
using App.Infrastructure.Traces;
using App.Infrastructure.Traffic;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace App.Infrastructure;

public static class DependencyInjection
{
    public static IHostApplicationBuilder AddInfrastructure(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.TryAddTimeProvider();

        services.AddRedis();
        services.AddSingleton<ModelRoutes>();
        services.AddSingleton<IModelRoutes>(sp => sp.GetRequiredService<ModelRoutes>());
        services.AddSingleton<EmbeddingRoutes>();
        services.AddSingleton<IEmbeddingRoutes>(sp => sp.GetRequiredService<EmbeddingRoutes>());
        services.AddHostedService<RoutesWarmup>();
        services.AddSingleton<UpstreamRehearsal>();
        services.AddResponseCache();
        services.AddTraffic();
        var contentRoot = builder.Environment.ContentRootPath;
        services.AddSingleton(sp =>
        {
            var file = Path.Combine(contentRoot, sp.GetRequiredService<IOptions<GuardOptions>>().Value.RulesFile);
            return InputGuard.Load(File.Exists(file) ? File.ReadAllText(file) : throw new FileNotFoundException($"Guard:RulesFile '{file}' does not exist.", file));
        });
        services.AddSingleton<IPromptCatalog>(sp =>
            PromptCatalog.LoadAsync(Path.Combine(contentRoot, sp.GetRequiredService<IOptions<PromptOptions>>().Value.Directory)).GetAwaiter().GetResult());
        services.AddJobs();
        services.AddPersistence();
        services.AddAuditLog();
        services.AddTraceWriter();
        // Hosted services start in registration order: the schema is migrated here, before the settings audit and the
        // signing keys below read it.
        services.AddHostedService<DatabaseMigrator>();
        // Budgets and limits are configuration: their changes go to the audit trail once the schema is there.
        services.AddSingleton<TrafficSettingsAudit>();
        services.AddHostedService(sp => sp.GetRequiredService<TrafficSettingsAudit>());
        services.AddIdentityServices();

        services.AddHealthChecks()
            .AddCheck<RedisHealthCheck>("redis", tags: ["ready"])
            .AddCheck<CircuitHealthCheck>("circuits", tags: ["ready"])
            .AddCheck<PostgresHealthCheck>("postgres", tags: ["ready"]);

        builder.AddTelemetry();
        return builder;
    }

    private static void TryAddTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }
}
