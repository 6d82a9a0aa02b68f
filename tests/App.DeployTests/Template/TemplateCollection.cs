namespace App.DeployTests.Template;

/// <summary>The template's tests share its instances and run one after another (the tutorial changes one of them).</summary>
[CollectionDefinition(Name)]
public sealed class TemplateCollection : ICollectionFixture<TemplateInstances>
{
    public const string Name = "template";
}
