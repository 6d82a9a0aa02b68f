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
