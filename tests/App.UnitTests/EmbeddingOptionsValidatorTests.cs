using App.Application.Embeddings;
using App.Application.Routing;

namespace App.UnitTests;

public class EmbeddingOptionsValidatorTests
{
    private static List<string> Errors(EmbeddingOptions options) =>
        [.. new EmbeddingOptionsValidator().Validate(null, options).Failures ?? []];

    [Fact]
    public void TheDefaultOfflineModelIsValid()
    {
        var options = new EmbeddingOptions { Models = { ["minilm"] = new EmbeddingModelOptions { Dimensions = 384, Deployments = [new DeploymentOptions { Model = "all-MiniLM-L6-v2" }] } } };
        Assert.Empty(Errors(options));
    }

    [Fact]
    public void AMissingKeyDimensionsAndLimitsAreNamedByTheirKeys()
    {
        var options = new EmbeddingOptions
        {
            MaxItems = 0,
            Models = { ["remote"] = new EmbeddingModelOptions { Deployments = [new DeploymentOptions { Provider = "openai", Model = "text-embedding-3-small", BaseUrl = new Uri("https://api.openai.com/v1") }] } },
        };
        var errors = Errors(options);
        Assert.Contains(errors, e => e.StartsWith("Embeddings:MaxItems must be", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Embeddings:Models:remote:Dimensions must be", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Embeddings:Models:remote:Deployments:0:ApiKey is required", StringComparison.Ordinal) && e.Contains("Embeddings__Models__remote__Deployments__0__ApiKey", StringComparison.Ordinal));
    }
}
