using System.Security.Cryptography;
using App.Testing;

namespace App.DeployTests.Gates;

/// <summary>
/// The secret gate (deploy/ci/secrets.sh, secretlint): the tree as committed passes; a copy of it with an AWS access key
/// or a private key block planted fails naming the file; each fixture it allows is named with its reason. The planted
/// secrets are made up at run time, so this file holds none.
/// </summary>
public class SecretGateTests
{
    private const string Gate = "deploy/ci/secrets.sh";

    [Fact]
    public async Task TheTreePasses()
    {
        var (exitCode, stdout, stderr) = await Tool.RunAsync("bash", [Gate], timeout: TimeSpan.FromMinutes(4));

        Assert.True(exitCode == 0, stdout + stderr);
        Assert.Contains("no secret found", stdout, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> PlantedSecrets() => new()
    {
        { "src/App.Api/appsettings.Production.json", $"{{ \"Aws\": {{ \"AccessKeyId\": \"AKIA{RandomText("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)}\" }} }}" },
        { "deploy/k8s/base/tls.key", $"-----BEGIN {"PRIVATE"} KEY-----\n{RandomText("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 64)}\n-----END {"PRIVATE"} KEY-----\n" },
        { "docs/example.md", $"export OPENAI_API_KEY=sk-proj-{RandomText("abcdefghijklmnopqrstuvwxyz0123456789", 40)}" },
    };

    [Theory]
    [MemberData(nameof(PlantedSecrets))]
    public async Task APlantedSecretIsFound(string file, string content)
    {
        var copy = await CopyOfTheTreeAsync();
        try
        {
            File.WriteAllText(Path.Combine(copy, file), content);

            var (exitCode, stdout, _) = await Tool.RunAsync("bash", [Gate, copy], timeout: TimeSpan.FromMinutes(4));

            Assert.Equal(1, exitCode);
            Assert.Contains($"{copy}/{file}:", stdout, StringComparison.Ordinal);
            Assert.Contains("1 problem", stdout, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Fact]
    public void EachAllowedFixtureExistsAndSaysWhy()
    {
        var lines = Repository.Read("deploy/ci/.secretlintignore").Split('\n');

        var entries = lines.Select((line, i) => (line, i)).Where(l => l.line.Length > 0 && !l.line.StartsWith('#')).ToList();

        Assert.NotEmpty(entries);
        Assert.All(entries, e =>
        {
            Assert.True(File.Exists(Repository.PathOf(e.line)), $"{e.line} does not exist");
            Assert.True(e.i > 0 && lines[e.i - 1].StartsWith("# ", StringComparison.Ordinal), $"{e.line} has no reason above it");
        });
    }

    private static string RandomText(string alphabet, int length) =>
        new([.. Enumerable.Range(0, length).Select(_ => alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)])]);

    private static async Task<string> CopyOfTheTreeAsync()
    {
        var copy = Directory.CreateTempSubdirectory("app-secrets-").FullName;
        var (_, files, _) = await Tool.RunAsync("git", ["ls-files"]);
        foreach (var file in files.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var target = Path.Combine(copy, file);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(Repository.PathOf(file), target);
        }

        return copy;
    }
}
