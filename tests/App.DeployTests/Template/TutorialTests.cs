using Xunit.Abstractions;

namespace App.DeployTests.Template;

/// <summary>docs/tutorial.md, followed step by step on a solution made from the template (see <see cref="TutorialRun"/>).</summary>
[Collection(TemplateCollection.Name)]
public sealed class TutorialTests(TemplateInstances instances, ITestOutputHelper output)
{
    [Fact]
    public async Task TheTutorialWorksAsWritten()
    {
        var blocks = FencedBlock.Parse(Repository.Read("docs/tutorial.md"));
        Assert.Contains(blocks, b => b.Has("background"));
        Assert.Contains(blocks, b => b.Attribute("merge") is not null);

        await using var run = new TutorialRun(instances.Full, instances.Environment);
        await run.FollowAsync(blocks, output.WriteLine);
    }
}
