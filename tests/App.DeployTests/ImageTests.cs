using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace App.DeployTests;

/// <summary>
/// The image's Dockerfile, read as text (no container engine runs here; .github/workflows/image.yml builds it): base
/// images pinned by digest, the SDK global.json asks for, restore from the project files alone before the sources, a
/// chiseled runtime that runs no shell command, a numeric non-root user matching the manifests' runAsUser, OCI labels,
/// and a build context that leaves out everything but the build settings and src/.
/// </summary>
public partial class ImageTests
{
    private const string Dockerfile = "deploy/container/Dockerfile";

    /// <summary>APP_UID of the .NET chiseled images: the "app" user the manifests' runAsUser names by number.</summary>
    private const long AppUid = 1654;

    [Fact]
    public void TheDockerfileIsSound() => Assert.Empty(Problems(Repository.Read(Dockerfile), Repository.Read("global.json")));

    [Fact]
    public async Task TheManifestsRunAsTheImagesUser()
    {
        var users = (await Manifests.ObjectsAsync("prod")).Workloads()
            .SelectMany(w => w.Containers.Select(c => c["securityContext"]?["runAsUser"]).Append(w.Pod["securityContext"]?["runAsUser"]))
            .Select(u => (long?)u).Distinct();

        Assert.Equal(AppUid, Assert.Single(users));
    }

    [Fact]
    public void TheBuildContextHoldsOnlyWhatTheBuildCopies()
    {
        var lines = Repository.Read(".dockerignore").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();

        Assert.Equal("*", lines[0]);
        Assert.Equal(["!.editorconfig", "!Directory.Build.props", "!Directory.Packages.props", "!global.json", "!src/"], lines.Where(l => l.StartsWith('!')).Order(StringComparer.Ordinal));
        Assert.Contains("**/bin/", lines);
        Assert.Contains("**/obj/", lines);
    }

    public static readonly TheoryData<string, string, string> Defects = new()
    {
        { "-noble@sha256:35d40304542c8689331f8cab17c65926cdf48fe711e289321d71924b230a7d29", "-noble", "not pinned by digest" },
        { "sdk:10.0.401-noble", "sdk:10.0.100-noble", "global.json asks for SDK 10.0.401" },
        { "aspnet:10.0-noble-chiseled", "aspnet:10.0-noble", "runtime is not a chiseled image" },
        { "USER $APP_UID", "USER root", "the runtime stage does not end as USER $APP_UID" },
        { "ENTRYPOINT [\"dotnet\", \"App.Api.dll\"]", "ENTRYPOINT dotnet App.Api.dll", "ENTRYPOINT is not in exec form" },
        { "WORKDIR /app\n", "WORKDIR /app\nRUN mkdir -p /data\n", "the runtime stage runs a command" },
        { "RUN dotnet restore src/App.Api/App.Api.csproj\n", "", "restore does not run on the project files before the sources are copied" },
        { "org.opencontainers.image.revision", "org.opencontainers.image.commit", "label org.opencontainers.image.revision is missing" },
    };

    [Theory]
    [MemberData(nameof(Defects))]
    public void EachPlantedDefectIsFound(string from, string to, string expected)
    {
        var text = Repository.Read(Dockerfile);
        Assert.Contains(from, text, StringComparison.Ordinal);

        var problems = Problems(text.Replace(from, to, StringComparison.Ordinal), Repository.Read("global.json"));

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    private static List<string> Problems(string dockerfile, string globalJson)
    {
        var problems = new List<string>();
        var lines = dockerfile.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var froms = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        if (froms.Count != 2)
        {
            problems.Add($"{froms.Count} stages, expected a build and a runtime stage");
            return problems;
        }

        foreach (var from in froms.Where(f => !PinnedImage().IsMatch(f)))
        {
            problems.Add($"'{from}' is not pinned by digest");
        }

        var sdk = (string?)JsonNode.Parse(globalJson)!["sdk"]!["version"];
        if (!froms[0].Contains($"/dotnet/sdk:{sdk}", StringComparison.Ordinal))
        {
            problems.Add($"global.json asks for SDK {sdk}; the build stage is '{froms[0]}'");
        }

        if (!froms[1].Contains("/dotnet/aspnet:", StringComparison.Ordinal) || !froms[1].Contains("-chiseled", StringComparison.Ordinal))
        {
            problems.Add($"the runtime is not a chiseled image: '{froms[1]}'");
        }

        var build = lines.Skip(lines.IndexOf(froms[0])).TakeWhile(l => l != froms[1]).ToList();
        var runtime = lines.Skip(lines.IndexOf(froms[1]) + 1).ToList();
        var restore = build.FindIndex(l => l.StartsWith("RUN dotnet restore", StringComparison.Ordinal));
        var sources = build.FindIndex(l => l.StartsWith("COPY src/ ", StringComparison.Ordinal));
        // Before the restore only project files and the build settings: a source change must not invalidate its layer.
        var copiedBeforeRestore = build.Take(Math.Max(restore, 0)).Where(l => l.StartsWith("COPY ", StringComparison.Ordinal));
        if (restore < 0 || sources < 0 || restore > sources ||
            copiedBeforeRestore.Any(l => !l.Contains(".csproj ", StringComparison.Ordinal) && !l.StartsWith("COPY global.json ", StringComparison.Ordinal)))
        {
            problems.Add("restore does not run on the project files before the sources are copied");
        }

        if (runtime.Any(l => l.StartsWith("RUN ", StringComparison.Ordinal)))
        {
            problems.Add("the runtime stage runs a command (a chiseled image has no shell)");
        }

        if (runtime.LastOrDefault(l => l.StartsWith("USER ", StringComparison.Ordinal)) != "USER $APP_UID")
        {
            problems.Add("the runtime stage does not end as USER $APP_UID (the image's non-root user, by number)");
        }

        var entrypoint = runtime.LastOrDefault(l => l.StartsWith("ENTRYPOINT ", StringComparison.Ordinal)) ?? "";
        if (entrypoint != "ENTRYPOINT [\"dotnet\", \"App.Api.dll\"]")
        {
            problems.Add($"ENTRYPOINT is not in exec form starting App.Api.dll: '{entrypoint}'");
        }

        foreach (var label in new[] { "source", "revision", "version", "created" })
        {
            if (!runtime.Any(l => l.Contains($"org.opencontainers.image.{label}=\"${{{label.ToUpperInvariant()}}}\"", StringComparison.Ordinal)))
            {
                problems.Add($"label org.opencontainers.image.{label} is missing or not from the build argument {label.ToUpperInvariant()}");
            }
        }

        return problems;
    }

    [GeneratedRegex(@"^FROM [a-z0-9./\-]+:[\w.\-]+@sha256:[0-9a-f]{64}( AS \w+)?$")]
    private static partial Regex PinnedImage();
}
