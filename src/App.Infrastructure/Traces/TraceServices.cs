using App.Application.Traces;
using App.Infrastructure.Privacy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Traces;

/// <summary>The trace writer, registered as the sink the gateway records into and as the service that drains it on stop.</summary>
internal static class TraceServices
{
    public static IServiceCollection AddTraceWriter(this IServiceCollection services)
    {
        services.AddOptions<TraceOptions>().BindConfiguration(TraceOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TraceOptions>, TraceOptionsValidator>();
        services.AddSingleton<TenantKeys>();
        services.AddSingleton<TenantErasure>();
        services.AddSingleton<TraceContent>();
        services.AddSingleton<TraceWriter>();
        services.AddSingleton<ITraceSink>(sp => sp.GetRequiredService<TraceWriter>());
        services.AddHostedService(sp => sp.GetRequiredService<TraceWriter>());
        return services;
    }
}
