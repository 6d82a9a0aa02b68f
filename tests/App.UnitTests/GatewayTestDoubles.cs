using App.Application.Caching;
using App.Application.Gateway;
using App.Application.Traffic;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace App.UnitTests;

// Stand-ins for what ChatGateway depends on, shared by the gateway's unit tests.

/// <summary>Model aliases mapped to their deployments, in route order.</summary>
internal sealed class StaticRoutes(Dictionary<string, IReadOnlyList<IDeployment>> routes) : IModelRoutes
{
    public IReadOnlyCollection<string> Aliases => routes.Keys;

    public string OwnedBy(string modelAlias) => "test";

    public bool TryGetRoute(string modelAlias, out IReadOnlyList<IDeployment> deployments) => routes.TryGetValue(modelAlias, out deployments!);
}

/// <summary>A cache that never has the answer and keeps nothing.</summary>
internal sealed class NoCache : IResponseCache
{
    public ValueTask<CachedCompletion?> GetAsync(string key, CancellationToken cancellationToken) => ValueTask.FromResult<CachedCompletion?>(null);

    public ValueTask SetAsync(string key, CachedCompletion value, TimeSpan ttl, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>One token per character of the prompt.</summary>
internal sealed class CharEstimator : ITokenEstimator
{
    public long CountPrompt(IReadOnlyList<ChatMessage> messages) => messages.Sum(m => m.Text.Length);
}

internal sealed class StaticOptions<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue => value;

    public T Get(string? name) => value;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}
