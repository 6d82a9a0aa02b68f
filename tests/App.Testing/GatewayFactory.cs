using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;

namespace App.Testing;

/// <summary>
/// The real app in-process (TestServer), wired to a real Redis and to whatever upstreams the test configures.
/// Settings use the configuration keys of docs/configuration.md, so a test reads like a deployment.
/// </summary>
public sealed class GatewayFactory : WebApplicationFactory<Program>
{
    private readonly string _redisConnectionString;
    private readonly IReadOnlyDictionary<string, string?>? _settings;

    /// <param name="redisConnectionString">The Redis the app uses.</param>
    /// <param name="settings">Configuration on top of appsettings.json.</param>
    /// <param name="kestrel">Serve over a real loopback socket instead of the in-memory test server.</param>
    public GatewayFactory(string redisConnectionString, IReadOnlyDictionary<string, string?>? settings = null, bool kestrel = false)
    {
        _redisConnectionString = redisConnectionString;
        _settings = settings;
        if (kestrel)
        {
            UseKestrel(0);
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UseEnvironment("Testing");
        var merged = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Redis:ConnectionString"] = _redisConnectionString,
            ["Serilog:MinimumLevel:Default"] = "Warning",
            ["Logging:Json"] = "false",
        };
        foreach (var (key, value) in _settings ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }

        builder.ConfigureAppConfiguration(config => config.AddInMemoryCollection(merged));
    }
}

/// <summary>Builds configuration for model routes, in the shape of <c>Llm:Models:&lt;alias&gt;:Deployments:&lt;n&gt;</c>.</summary>
public sealed class Settings : Dictionary<string, string?>
{
    public Settings()
        : base(StringComparer.OrdinalIgnoreCase)
    {
    }

    public Settings Route(string alias, params Deployment[] deployments)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        for (var i = 0; i < deployments.Length; i++)
        {
            var prefix = $"Llm:Models:{alias}:Deployments:{i}:";
            var d = deployments[i];
            this[prefix + "Provider"] = d.Provider;
            this[prefix + "Model"] = d.Model;
            if (d.BaseUrl is not null)
            {
                this[prefix + "BaseUrl"] = d.BaseUrl.ToString();
                this[prefix + "ApiKey"] = "sk-test-" + alias;
            }

            foreach (var (key, value) in d.Resilience)
            {
                this[prefix + "Resilience:" + key] = value;
            }
        }

        return this;
    }

    public Settings With(string key, string? value)
    {
        this[key] = value;
        return this;
    }
}

public sealed record Deployment(string Provider, string Model, Uri? BaseUrl = null)
{
    public Dictionary<string, string> Resilience { get; } = new(StringComparer.OrdinalIgnoreCase);

    public static Deployment Offline(string model = "offline-1") => new("offline", model);

    public static Deployment OpenAi(Uri baseUrl, string model) => new("openai", model, baseUrl);

    public Deployment With(string resilienceKey, string value)
    {
        Resilience[resilienceKey] = value;
        return this;
    }
}
