using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace App.Infrastructure;

/// <summary>The Redis connection, registered once so every feature that uses Redis shares its multiplexer.</summary>
internal static class RedisServices
{
    public static IServiceCollection AddRedis(this IServiceCollection services)
    {
        services.AddOptions<RedisOptions>().BindConfiguration(RedisOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RedisOptions>, RedisOptionsValidator>();
        services.AddSingleton<IConnectionMultiplexer>(sp => Connect(sp.GetRequiredService<IOptions<RedisOptions>>().Value));
        return services;
    }

    private static ConnectionMultiplexer Connect(RedisOptions options)
    {
        var config = ConfigurationOptions.Parse(options.ConnectionString);
        // Start and keep running without Redis; reconnect in the background.
        config.AbortOnConnectFail = false;
        // While disconnected, fail commands at once instead of queueing them behind the outage.
        config.BacklogPolicy = BacklogPolicy.FailFast;
        config.AsyncTimeout = (int)options.CommandTimeout.TotalMilliseconds;
        config.SyncTimeout = (int)options.CommandTimeout.TotalMilliseconds;
        config.ConnectTimeout = Math.Max(1000, config.ConnectTimeout == 0 ? 2000 : Math.Min(config.ConnectTimeout, 5000));
        config.ConnectRetry = 1;
        config.ReconnectRetryPolicy = new LinearRetry(500);
        config.ClientName ??= "app-api";
        if (!string.IsNullOrWhiteSpace(options.CaCertificateFile))
        {
            config.CertificateValidation += ServerCertificateTrust.Validator(ServerCertificateTrust.Load(options.CaCertificateFile));
        }

        return ConnectionMultiplexer.Connect(config);
    }
}
