using App.Testing;

namespace App.DeployTests;

/// <summary>Paths of the repository the tests read.</summary>
internal static class Repository
{
    public static string Root { get; } = Databases.RepositoryRoot();

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    public static string Read(string relative) => File.ReadAllText(PathOf(relative));
}
