namespace App.Application.Routing;

public sealed class DeploymentOptions
{
    /// <summary><c>offline</c> (built in, deterministic, no network) or <c>openai</c> (any OpenAI-compatible endpoint).</summary>
    public string Provider { get; init; } = ProviderKinds.Offline;

    /// <summary>For <c>openai</c>: the base URL including the version segment, e.g. <c>https://api.openai.com/v1</c>.</summary>
    public Uri? BaseUrl { get; init; }

    /// <summary>For <c>openai</c>: the API key. Never logged, never part of a cache key.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The header the key is sent in: <c>Authorization</c> (as a bearer token, the default) or e.g. <c>api-key</c> for Azure OpenAI.</summary>
    public string ApiKeyHeader { get; init; } = "Authorization";

    /// <summary>The model name sent upstream.</summary>
    public string Model { get; init; } = "offline-1";

    /// <summary>For <c>offline</c>: delay before each streamed token, to make streaming visible in demos.</summary>
    public int TokenDelayMs { get; init; }

    public ResilienceOptions? Resilience { get; init; }
}
