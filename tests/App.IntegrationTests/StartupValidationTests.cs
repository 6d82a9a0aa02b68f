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
    private static async Task<OptionsValidationException> StartUpFailureAsync(Settings settings)
    {
        var redis = await SharedServers.RedisAsync();
        for (var attempt = 1; ; attempt++)
        {
            await using var factory = new GatewayFactory(redis.ConnectionString, await Databases.SharedAsync(), settings);
            try
            {
                factory.CreateClient().Dispose();
            }
            catch (ObjectDisposedException) when (attempt < 5)
            {
                continue;
            }
            catch (Exception ex)
            {
                return Assert.IsAssignableFrom<OptionsValidationException>(ex);
            }

            Assert.Fail("The app started although its settings are invalid.");
        }
    }
}
