using App.Application.Routing;

namespace App.UnitTests;

public class LlmOptionsValidatorTests
{
    private static IEnumerable<string> Errors(LlmOptions options) =>
        new LlmOptionsValidator().Validate(null, options).Failures ?? [];

    [Fact]
    public void TheDefaultOfflineRouteIsValid()
    {
        var options = new LlmOptions { Models = { ["offline"] = new ModelRouteOptions { Deployments = [new DeploymentOptions()] } } };
        Assert.Empty(Errors(options));
    }

    [Fact]
    public void MissingOpenAiSettingsNameTheExactKey()
    {
        var options = new LlmOptions
        {
            Models =
            {
                ["gpt"] = new ModelRouteOptions
                {
                    Deployments = [new DeploymentOptions(), new DeploymentOptions { Provider = "openai", Model = "gpt-4o-mini" }],
                },
            },
        };
        var errors = Errors(options).ToList();
        Assert.Contains(errors, e => e.StartsWith("Llm:Models:gpt:Deployments:1:BaseUrl is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Llm:Models:gpt:Deployments:1:ApiKey is required", StringComparison.Ordinal) && e.Contains("Llm__Models__gpt__Deployments__1__ApiKey", StringComparison.Ordinal));
    }

    [Fact]
    public void UnknownProviderBadUrlAndBadResilienceAreRefused()
    {
        var options = new LlmOptions
        {
            Resilience = new ResilienceOptions { MaxRetries = 50 },
            Models =
            {
                ["m"] = new ModelRouteOptions
                {
                    Deployments =
                    [
                        new DeploymentOptions { Provider = "anthropic" },
                        new DeploymentOptions { Provider = "openai", BaseUrl = new Uri("ftp://x"), ApiKey = "k", Resilience = new ResilienceOptions { AttemptTimeout = TimeSpan.Zero, BreakerFailureRatio = 2 } },
                    ],
                },
            },
        };
        var errors = Errors(options).ToList();
        Assert.Contains("Llm:Resilience:MaxRetries must be between 0 and 10.", errors);
        Assert.Contains(errors, e => e.StartsWith("Llm:Models:m:Deployments:0:Provider 'anthropic' is unknown", StringComparison.Ordinal));
        Assert.Contains("Llm:Models:m:Deployments:1:BaseUrl must be an absolute http(s) URL.", errors);
        Assert.Contains("Llm:Models:m:Deployments:1:Resilience:AttemptTimeout must be between 10 ms and 1 day.", errors);
        Assert.Contains("Llm:Models:m:Deployments:1:Resilience:BreakerFailureRatio must be in (0, 1].", errors);
    }

    [Fact]
    public void NoModelsOrEmptyRouteOrBadAliasIsRefused()
    {
        Assert.Contains("Llm:Models must define at least one model alias.", Errors(new LlmOptions()));
        var errors = Errors(new LlmOptions { Models = { ["bad alias!"] = new ModelRouteOptions() } }).ToList();
        Assert.Contains(errors, e => e.StartsWith("Llm:Models:bad alias!: the alias", StringComparison.Ordinal));
        Assert.Contains("Llm:Models:bad alias!:Deployments must list at least one deployment.", errors);
    }
}
