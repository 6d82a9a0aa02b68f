using App.Application.Audit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Audit;

/// <summary>The audit log and the checkpoints that anchor its hash chains outside the database.</summary>
internal static class AuditServices
{
    public static IServiceCollection AddAuditLog(this IServiceCollection services)
    {
        services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuditOptions>, AuditOptionsValidator>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<IAuditLog>(sp => sp.GetRequiredService<AuditLog>());
        services.AddHostedService<AuditCheckpointer>();
        return services;
    }
}
