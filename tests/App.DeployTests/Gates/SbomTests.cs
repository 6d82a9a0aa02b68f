using System.Text.Json.Nodes;
using App.Testing;
using NJsonSchema;

namespace App.DeployTests.Gates;

/// <summary>
/// The service's SBOM (deploy/ci/sbom.sh, CycloneDX) is valid against the CycloneDX 1.6 JSON schema shipped in
/// deploy/ci/schemas/cyclonedx and lists what the service ships (its projects and packages, each with a purl and a
/// SHA-512) but no build-only package; a copy with a planted defect is refused by the same schema.
/// </summary>
public class SbomTests
{
    private static readonly Lazy<Task<JsonObject>> Sbom = new(GenerateAsync);
    private static readonly Lazy<Task<JsonSchema>> Schema = new(() => JsonSchema.FromFileAsync(Repository.PathOf("deploy/ci/schemas/cyclonedx/bom-1.6.schema.json")));

    [Fact]
    public async Task TheSbomIsValidCycloneDx()
    {
        var sbom = await Sbom.Value;

        Assert.Empty((await Schema.Value).Validate(sbom.ToJsonString()));
        Assert.Equal("1.6", (string?)sbom["specVersion"]);
        Assert.Equal("app-api", (string?)sbom["metadata"]!["component"]!["name"]);
    }

    [Fact]
    public async Task TheSbomListsWhatTheServiceShipsAndNothingBuildOnly()
    {
        var components = (await Sbom.Value)["components"]!.AsArray().Select(c => c!.AsObject()).ToList();
        var names = components.Select(c => (string)c["name"]!).ToHashSet(StringComparer.Ordinal);

        Assert.Superset(new HashSet<string>(["App.Application", "App.Infrastructure", "Npgsql", "StackExchange.Redis", "Polly.Core", "Fido2"], StringComparer.Ordinal), names);
        Assert.DoesNotContain("SecurityCodeScan.VS2019", names);
        Assert.DoesNotContain("xunit", names);
        Assert.All(components.Where(c => (string?)c["type"] == "library" && ((string?)c["purl"])?.StartsWith("pkg:nuget/", StringComparison.Ordinal) == true), c =>
            Assert.Contains(c["hashes"]!.AsArray(), h => (string?)h!["alg"] == "SHA-512"));
    }

    public static readonly TheoryData<string, string> Defects = new()
    {
        { "type", "librarry" },
        { "hashes", """[{"alg":"MD4","content":"00"}]""" },
        { "bom-ref", """{"not":"a string"}""" },
    };

    [Theory]
    [MemberData(nameof(Defects))]
    public async Task TheSchemaRefusesAPlantedDefect(string property, string value)
    {
        var copy = (JsonObject)(await Sbom.Value).DeepClone();
        var component = copy["components"]!.AsArray().First(c => (string?)c!["type"] == "library")!.AsObject();
        component[property] = value.StartsWith('[') || value.StartsWith('{') ? JsonNode.Parse(value) : JsonValue.Create(value);

        var errors = (await Schema.Value).Validate(copy.ToJsonString());

        Assert.NotEmpty(errors);
    }

    private static async Task<JsonObject> GenerateAsync()
    {
        var output = Directory.CreateTempSubdirectory("app-sbom-").FullName;
        var (exitCode, stdout, stderr) = await Tool.RunAsync("bash", ["deploy/ci/sbom.sh", "--no-restore", output], timeout: TimeSpan.FromMinutes(4));
        Assert.True(exitCode == 0, stdout + stderr);
        var sbom = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(output, "app-api.cdx.json")))!.AsObject();
        Directory.Delete(output, recursive: true);
        return sbom;
    }
}
