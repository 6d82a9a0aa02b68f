using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace App.Infrastructure.Persistence;

/// <summary>PostgreSQL: the data source, the tenant-scoped contexts and the outage guard around them.</summary>
internal static class PersistenceServices
{
    public static IServiceCollection AddPersistence(this IServiceCollection services)
    {
        services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DatabaseOptions>, DatabaseOptionsValidator>();
        // Read when first used, not now: configuration can still change until the host is built (tests, hosting).
        services.AddSingleton(sp => new ReadReplica(sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.Apply(
            sp.GetRequiredService<IConfiguration>().GetConnectionString("Postgres") is { Length: > 0 } postgres
                ? postgres
                : throw new InvalidOperationException("ConnectionStrings:Postgres is not set: the service needs PostgreSQL."))));
        services.AddSingleton(sp => sp.GetRequiredService<ReadReplica>().Primary);
        services.AddSingleton<DatabaseOutage>();
        // Not pooled: a context carries its tenant, and a pooled one could hand it to the next unit of work.
        services.AddDbContextFactory<AppDbContext>((sp, o) => Database.Configure(o, sp.GetRequiredService<NpgsqlDataSource>()), ServiceLifetime.Singleton);
        services.AddSingleton<TenantData>();
        return services;
    }
}
