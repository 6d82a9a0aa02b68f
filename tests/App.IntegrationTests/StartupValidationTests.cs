using App.Application.Routing;
using App.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace App.IntegrationTests;

public class StartupValidationTests
{
    [Fact]
    public async Task AnInvalidRouteStopsStartUpNamingTheKey()
    {
        var ex = await StartUpFailureAsync(new Settings()
            .With("Llm:Models:chat:Deployments:0:Provider", "openai")
            .With("Llm:Models:chat:Deployments:0:Model", "gpt-4o-mini"));
        Assert.Contains("Llm:Models:chat:Deployments:0:BaseUrl is required for provider 'openai'.", ex.Failures);
        Assert.Contains(ex.Failures, f => f.StartsWith("Llm:Models:chat:Deployments:0:ApiKey is required", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Cache:Ttl", "00:00:00", "Cache:Ttl must be positive.")]
    [InlineData("Cache:Local:Ttl", "00:00:00.005", "Cache:Local:Ttl must be between 10 ms and 1 hour.")]
    [InlineData("Cache:Local:Ttl", "02:00:00", "Cache:Local:Ttl must be between 10 ms and 1 hour.")]
    [InlineData("Cache:Local:MaxBytes", "-1", "Cache:Local:MaxBytes must be between 0 and 16 GiB.")]
    public async Task AnInvalidCacheSettingStopsStartUpNamingTheKey(string key, string value, string error)
    {
        var ex = await StartUpFailureAsync(new Settings().With(key, value));
        Assert.Contains(error, ex.Failures);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("10001")]
    public async Task AnInvalidRumLimitStopsStartUpNamingTheKey(string permitsPerMinute)
    {
        var ex = await StartUpFailureAsync(new Settings().With("Rum:PermitsPerMinute", permitsPerMinute));
        Assert.Contains("Rum:PermitsPerMinute must be between 1 and 10000.", ex.Failures);
    }

    [Fact]
    public async Task OutsideDevelopmentAnExternalIssuerMustUseHttps()
    {
        static Settings Issuer(string authority) => new Settings()
            .With("Auth:ExternalIssuers:0:Name", "corp")
            .With("Auth:ExternalIssuers:0:Authority", authority)
            .With("Auth:ExternalIssuers:0:Audience", "gateway");
        var ex = await StartUpFailureAsync(Issuer("http://127.0.0.1:9/realms/corp"), "Production");
        Assert.Contains("Auth:ExternalIssuers:0:Authority must use https outside Development (its metadata and signing keys are fetched from it).", ex.Failures);

        // The same issuer over https is not refused for its scheme (what else Production asks of these settings is
        // another matter), and over http it is allowed where tests and local development run.
        var secure = await StartUpFailureOrNullAsync(Issuer("https://127.0.0.1:9/realms/corp"), "Production");
        Assert.DoesNotContain(secure?.Failures ?? [], f => f.Contains("must use https", StringComparison.Ordinal));
        Assert.Null(await StartUpFailureOrNullAsync(Issuer("http://127.0.0.1:9/realms/corp"), "Development"));
    }

    [Fact]
    public void EnvironmentVariablesOverrideDeploymentsByIndex()
    {
        var alias = "env" + Guid.NewGuid().ToString("N")[..8];
        Environment.SetEnvironmentVariable($"Llm__Models__{alias}__Deployments__0__BaseUrl", "http://127.0.0.1:9/v1");
        Environment.SetEnvironmentVariable($"Llm__Models__{alias}__Deployments__0__Provider", "openai");
        try
        {
            var configuration = new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?>
                {
                    [$"Llm:Models:{alias}:Deployments:0:Provider"] = "offline",
                    [$"Llm:Models:{alias}:Deployments:0:BaseUrl"] = "http://file.example/v1",
                    [$"Llm:Models:{alias}:Deployments:0:Model"] = "m",
                })
                .AddEnvironmentVariables()
                .Build();
            var options = configuration.GetSection("Llm").Get<LlmOptions>()!;
            var deployment = options.Models[alias].Deployments[0];
            Assert.Equal("openai", deployment.Provider);
            Assert.Equal(new Uri("http://127.0.0.1:9/v1"), deployment.BaseUrl);
            Assert.Equal("m", deployment.Model);
        }
        finally
        {
            Environment.SetEnvironmentVariable($"Llm__Models__{alias}__Deployments__0__BaseUrl", null);
            Environment.SetEnvironmentVariable($"Llm__Models__{alias}__Deployments__0__Provider", null);
        }
    }

    /// <summary>
    /// Starts the app with the settings and returns why it refused to start. WebApplicationFactory has a race when
    /// an app fails fast: its deferred host may ask the already disposed service provider for the lifetime and
    /// throw ObjectDisposedException instead of the app's own error. That masked error is retried, never accepted.
    /// </summary>
    private static async Task<OptionsValidationException> StartUpFailureAsync(Settings settings, string environment = "Testing") =>
        await StartUpFailureOrNullAsync(settings, environment) ?? throw new Xunit.Sdk.XunitException("The app started although its settings are invalid.");

    /// <summary>Why the app refused to start with these settings, or null if it started.</summary>
    private static async Task<OptionsValidationException?> StartUpFailureOrNullAsync(Settings settings, string environment)
    {
        var redis = await SharedServers.RedisAsync();
        for (var attempt = 1; ; attempt++)
        {
            await using var factory = new GatewayFactory(redis.ConnectionString, await Databases.SharedAsync(), settings) { EnvironmentName = environment };
            try
            {
                factory.CreateClient().Dispose();
                return null;
            }
            catch (ObjectDisposedException) when (attempt < 5)
            {
            }
            catch (Exception ex)
            {
                return Assert.IsAssignableFrom<OptionsValidationException>(ex);
            }
        }
    }
}
