using App.Application.Guard;
using App.Application.Prompts;
using Microsoft.Extensions.Hosting;

namespace App.Infrastructure.Resilience;

/// <summary>
/// Builds the routes (providers and Polly pipelines) while the host starts, so a pipeline that cannot be built
/// stops start-up instead of failing the first request.
/// </summary>
internal sealed class RoutesWarmup(ModelRoutes routes, InputGuard guard, IPromptCatalog prompts) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // A prompt template that names a model no route serves is a configuration error: say so at start.
        var orphan = prompts.All.FirstOrDefault(p => !routes.TryGetRoute(p.Definition.Model, out _));
        return orphan is null
            ? Task.FromResult(routes.Aliases.Count + guard.RuleCount)
            : throw new InvalidOperationException($"Prompt {orphan.Id} runs on model '{orphan.Definition.Model}', which Llm:Models does not define.");
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
