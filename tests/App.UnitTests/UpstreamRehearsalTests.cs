using App.Application.Routing;
using App.Infrastructure.Providers;
using Microsoft.Extensions.Options;

namespace App.UnitTests;

/// <summary>
/// The warm-up's rehearsal of the OpenAI-compatible client: it runs only where a deployment uses that client, and its
/// answers made in memory are read by the real client, whole and streamed, without an error until it is stopped.
/// </summary>
public sealed class UpstreamRehearsalTests
{
    [Fact]
    public void AppliesOnlyWhereAModelIsServedByAnOpenAiCompatibleDeployment()
    {
        Assert.False(Rehearsal(ProviderKinds.Offline).Applies);
        Assert.True(Rehearsal(ProviderKinds.Offline, ProviderKinds.OpenAi).Applies);
    }

    [Fact]
    public async Task TheClientReadsTheRehearsedAnswersWholeAndStreamed()
    {
        // A malformed canned answer would throw out of the client (an UpstreamException), not be counted.
        Assert.Equal(40, await Rehearsal(ProviderKinds.OpenAi).RunAsync(40, CancellationToken.None));
    }

    [Fact]
    public async Task AStopEndsTheRehearsalEarly()
    {
        using var stop = new CancellationTokenSource();
        await stop.CancelAsync();
        Assert.Equal(0, await Rehearsal(ProviderKinds.OpenAi).RunAsync(1000, stop.Token));
    }

    private static UpstreamRehearsal Rehearsal(params string[] providers)
    {
        var llm = new LlmOptions();
        for (var i = 0; i < providers.Length; i++)
        {
            llm.Models[$"m{i}"] = new ModelRouteOptions
            {
                Deployments = [new DeploymentOptions { Provider = providers[i], BaseUrl = new Uri("http://upstream.invalid/v1"), Model = "m" }],
            };
        }

        return new UpstreamRehearsal(Options.Create(llm), TimeProvider.System);
    }
}
