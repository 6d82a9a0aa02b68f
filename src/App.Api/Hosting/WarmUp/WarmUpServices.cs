using Microsoft.Extensions.Options;

namespace App.Api.Hosting.WarmUp;

/// <summary>Registers the API's warm-up before readiness (<see cref="SelfWarmUp"/>).</summary>
internal static class WarmUpServices
{
    public static WebApplicationBuilder AddSelfWarmUp(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<WarmUpOptions>().BindConfiguration(WarmUpOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<WarmUpOptions>, WarmUpOptionsValidator>();
        builder.Services.AddSingleton<SelfWarmUp>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SelfWarmUp>());
        builder.Services.AddHealthChecks().AddCheck<WarmUpHealthCheck>("warm-up", tags: ["ready"]);
        return builder;
    }
}
