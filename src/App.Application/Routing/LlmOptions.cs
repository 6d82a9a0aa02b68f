using System.Globalization;
using Microsoft.Extensions.Options;

namespace App.Application.Routing;

/// <summary>
/// <c>Llm:Models:&lt;alias&gt;:Deployments:&lt;n&gt;</c>: a model alias is what clients name in <c>model</c>;
/// it maps to an ordered list of deployments tried in turn (the first is primary, the rest are fallbacks).
/// </summary>
public sealed class LlmOptions
{
    public const string Section = "Llm";

    public Dictionary<string, ModelRouteOptions> Models { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Defaults for every deployment; a deployment may override any of them.</summary>
    public ResilienceOptions Resilience { get; init; } = new();
}

public sealed class ModelRouteOptions
{
    public List<DeploymentOptions> Deployments { get; init; } = [];

    /// <summary>Shown in <c>GET /v1/models</c> as <c>owned_by</c>.</summary>
    public string? OwnedBy { get; init; }
}

public static class ProviderKinds
{
    public const string Offline = "offline";
    public const string OpenAi = "openai";
}

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

/// <summary>Polly settings for one deployment. Unset values fall back to <c>Llm:Resilience</c>, then to these defaults.</summary>
public sealed class ResilienceOptions
{
    public TimeSpan? AttemptTimeout { get; init; }
    public TimeSpan? TotalTimeout { get; init; }
    public int? MaxRetries { get; init; }
    public TimeSpan? RetryBaseDelay { get; init; }
    public TimeSpan? MaxRetryAfter { get; init; }
    public double? BreakerFailureRatio { get; init; }
    public int? BreakerMinimumThroughput { get; init; }
    public TimeSpan? BreakerSamplingDuration { get; init; }
    public TimeSpan? BreakerBreakDuration { get; init; }
    public int? MaxConcurrency { get; init; }
    public int? QueueLimit { get; init; }
    public TimeSpan? QueueTimeout { get; init; }
    public TimeSpan? StreamIdleTimeout { get; init; }

    public EffectiveResilience Resolve(ResilienceOptions? fallback) => new(
        AttemptTimeout ?? fallback?.AttemptTimeout ?? TimeSpan.FromSeconds(30),
        TotalTimeout ?? fallback?.TotalTimeout ?? TimeSpan.FromSeconds(90),
        MaxRetries ?? fallback?.MaxRetries ?? 2,
        RetryBaseDelay ?? fallback?.RetryBaseDelay ?? TimeSpan.FromMilliseconds(200),
        MaxRetryAfter ?? fallback?.MaxRetryAfter ?? TimeSpan.FromSeconds(10),
        BreakerFailureRatio ?? fallback?.BreakerFailureRatio ?? 0.5,
        BreakerMinimumThroughput ?? fallback?.BreakerMinimumThroughput ?? 10,
        BreakerSamplingDuration ?? fallback?.BreakerSamplingDuration ?? TimeSpan.FromSeconds(30),
        BreakerBreakDuration ?? fallback?.BreakerBreakDuration ?? TimeSpan.FromSeconds(15),
        MaxConcurrency ?? fallback?.MaxConcurrency ?? 256,
        QueueLimit ?? fallback?.QueueLimit ?? 512,
        QueueTimeout ?? fallback?.QueueTimeout ?? TimeSpan.FromSeconds(5),
        StreamIdleTimeout ?? fallback?.StreamIdleTimeout ?? TimeSpan.FromSeconds(60));
}

public sealed record EffectiveResilience(
    TimeSpan AttemptTimeout,
    TimeSpan TotalTimeout,
    int MaxRetries,
    TimeSpan RetryBaseDelay,
    TimeSpan MaxRetryAfter,
    double BreakerFailureRatio,
    int BreakerMinimumThroughput,
    TimeSpan BreakerSamplingDuration,
    TimeSpan BreakerBreakDuration,
    int MaxConcurrency,
    int QueueLimit,
    TimeSpan QueueTimeout,
    TimeSpan StreamIdleTimeout);

/// <summary>Fails start-up naming the exact configuration key that is wrong.</summary>
public sealed class LlmOptionsValidator : IValidateOptions<LlmOptions>
{
    public ValidateOptionsResult Validate(string? name, LlmOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.Models.Count == 0)
        {
            errors.Add("Llm:Models must define at least one model alias.");
        }

        ValidateResilience("Llm:Resilience", options.Resilience, errors);

        foreach (var (alias, route) in options.Models)
        {
            var prefix = $"Llm:Models:{alias}";
            if (!ModelAlias.IsValid(alias))
            {
                errors.Add($"{prefix}: the alias must be 1-64 characters of letters, digits, '.', '-', '_' or '/'.");
            }

            if (route.Deployments.Count == 0)
            {
                errors.Add($"{prefix}:Deployments must list at least one deployment.");
            }

            for (var i = 0; i < route.Deployments.Count; i++)
            {
                var d = route.Deployments[i];
                var key = string.Create(CultureInfo.InvariantCulture, $"{prefix}:Deployments:{i}");
                switch (d.Provider)
                {
                    case ProviderKinds.Offline:
                        if (d.TokenDelayMs is < 0 or > 10_000)
                        {
                            errors.Add($"{key}:TokenDelayMs must be between 0 and 10000.");
                        }

                        break;
                    case ProviderKinds.OpenAi:
                        if (d.BaseUrl is null)
                        {
                            errors.Add($"{key}:BaseUrl is required for provider 'openai'.");
                        }
                        else if (!d.BaseUrl.IsAbsoluteUri || (d.BaseUrl.Scheme != Uri.UriSchemeHttps && d.BaseUrl.Scheme != Uri.UriSchemeHttp))
                        {
                            errors.Add($"{key}:BaseUrl must be an absolute http(s) URL.");
                        }

                        if (string.IsNullOrWhiteSpace(d.ApiKey))
                        {
                            errors.Add($"{key}:ApiKey is required for provider 'openai' (set it with the environment variable Llm__Models__{alias}__Deployments__{i}__ApiKey).");
                        }

                        if (string.IsNullOrWhiteSpace(d.ApiKeyHeader))
                        {
                            errors.Add($"{key}:ApiKeyHeader must not be empty.");
                        }

                        break;
                    default:
                        errors.Add($"{key}:Provider '{d.Provider}' is unknown; use 'offline' or 'openai'.");
                        break;
                }

                if (string.IsNullOrWhiteSpace(d.Model))
                {
                    errors.Add($"{key}:Model is required.");
                }

                if (d.Resilience is not null)
                {
                    ValidateResilience($"{key}:Resilience", d.Resilience, errors);
                }
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateResilience(string key, ResilienceOptions r, List<string> errors)
    {
        // Polly's own bounds: timeouts from 10 ms, breaker windows from 0.5 s, up to a day.
        static bool Positive(TimeSpan? t) => t is null || (t >= TimeSpan.FromMilliseconds(10) && t <= TimeSpan.FromDays(1));
        static bool Window(TimeSpan? t) => t is null || (t >= TimeSpan.FromMilliseconds(500) && t <= TimeSpan.FromDays(1));
        void Check(bool ok, string error)
        {
            if (!ok)
            {
                errors.Add(error);
            }
        }

        Check(Positive(r.AttemptTimeout), $"{key}:AttemptTimeout must be between 10 ms and 1 day.");
        Check(Positive(r.TotalTimeout), $"{key}:TotalTimeout must be between 10 ms and 1 day.");
        Check(Positive(r.RetryBaseDelay), $"{key}:RetryBaseDelay must be between 10 ms and 1 day.");
        Check(Positive(r.MaxRetryAfter), $"{key}:MaxRetryAfter must be between 10 ms and 1 day.");
        Check(Window(r.BreakerSamplingDuration), $"{key}:BreakerSamplingDuration must be between 0.5 s and 1 day.");
        Check(Window(r.BreakerBreakDuration), $"{key}:BreakerBreakDuration must be between 0.5 s and 1 day.");
        Check(Positive(r.QueueTimeout), $"{key}:QueueTimeout must be between 10 ms and 1 day.");
        Check(Positive(r.StreamIdleTimeout), $"{key}:StreamIdleTimeout must be between 10 ms and 1 day.");
        Check(!(r.MaxRetries is < 0 or > 10), $"{key}:MaxRetries must be between 0 and 10.");
        Check(!(r.BreakerFailureRatio is <= 0 or > 1), $"{key}:BreakerFailureRatio must be in (0, 1].");
        Check(!(r.BreakerMinimumThroughput is < 2), $"{key}:BreakerMinimumThroughput must be at least 2.");
        Check(!(r.MaxConcurrency is < 1), $"{key}:MaxConcurrency must be at least 1.");
        Check(!(r.QueueLimit is < 0), $"{key}:QueueLimit must not be negative.");
    }
}

public static class ModelAlias
{
    public static bool IsValid(string alias) =>
        alias.Length is > 0 and <= 64 && alias.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '/');
}
