using System.Globalization;
using Microsoft.Extensions.Options;

namespace App.Application.Routing;

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
                var key = string.Create(CultureInfo.InvariantCulture, $"{prefix}:Deployments:{i}");
                ValidateDeployment(key, $"Llm__Models__{alias}__Deployments__{i}", route.Deployments[i], errors);
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>The checks of one deployment, shared by chat and embedding routes; <paramref name="environmentKey"/> names its environment variables.</summary>
    public static void ValidateDeployment(string key, string environmentKey, DeploymentOptions d, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(d);
        ArgumentNullException.ThrowIfNull(errors);
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
                    errors.Add($"{key}:ApiKey is required for provider 'openai' (set it with the environment variable {environmentKey}__ApiKey).");
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
