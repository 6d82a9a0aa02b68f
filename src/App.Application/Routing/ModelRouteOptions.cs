namespace App.Application.Routing;

public sealed class ModelRouteOptions
{
    public List<DeploymentOptions> Deployments { get; init; } = [];

    /// <summary>Shown in <c>GET /v1/models</c> as <c>owned_by</c>.</summary>
    public string? OwnedBy { get; init; }
}
