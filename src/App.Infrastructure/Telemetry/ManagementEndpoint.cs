using Microsoft.Extensions.Configuration;

namespace App.Infrastructure.Telemetry;

/// <summary>
/// Where the management listener binds (<c>Management:Urls</c>, default <c>http://127.0.0.1:9464</c>, empty to turn it
/// off): <c>/metrics</c> and the health endpoints on an address of their own, never the public listener's.
/// </summary>
public static class ManagementEndpoint
{
    public const string DefaultUrls = "http://127.0.0.1:9464";

    /// <summary>The addresses to bind, separated by ';' as ASP.NET Core's own <c>urls</c>; none when turned off.</summary>
    public static string[] Urls(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var value = configuration["Management:Urls"] ?? DefaultUrls;
        return value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    public static bool IsEnabled(IConfiguration configuration) => Urls(configuration).Length > 0;
}
