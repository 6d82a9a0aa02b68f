namespace App.Application.Gateway;

/// <summary>Resolves model aliases to their ordered deployments.</summary>
public interface IModelRoutes
{
    IReadOnlyCollection<string> Aliases { get; }

    string OwnedBy(string modelAlias);

    bool TryGetRoute(string modelAlias, out IReadOnlyList<IDeployment> deployments);
}
