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
        var redis = await SharedServers.RedisAsync();
        await using var factory = new GatewayFactory(redis.ConnectionString, await Databases.SharedAsync(), new Settings()
            .With("Llm:Models:chat:Deployments:0:Provider", "openai")
            .With("Llm:Models:chat:Deployments:0:Model", "gpt-4o-mini"));
        var ex = Assert.ThrowsAny<OptionsValidationException>(() => factory.CreateClient());
        Assert.Contains("Llm:Models:chat:Deployments:0:BaseUrl is required for provider 'openai'.", ex.Failures);
        Assert.Contains(ex.Failures, f => f.StartsWith("Llm:Models:chat:Deployments:0:ApiKey is required", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnInvalidCacheSettingStopsStartUp()
    {
        var redis = await SharedServers.RedisAsync();
        await using var factory = new GatewayFactory(redis.ConnectionString, await Databases.SharedAsync(), new Settings().With("Cache:Ttl", "00:00:00"));
        var ex = Assert.ThrowsAny<OptionsValidationException>(() => factory.CreateClient());
        Assert.Contains("Cache:Ttl must be positive.", ex.Failures);
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
}
