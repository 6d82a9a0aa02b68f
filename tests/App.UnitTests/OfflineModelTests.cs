using System.Text.Json;
using App.Infrastructure.Providers;
using Microsoft.Extensions.AI;
using NJsonSchema;

namespace App.UnitTests;

public class OfflineModelTests
{
    private static readonly OfflineChatClient Model = new("offline-1", TimeSpan.Zero, TimeProvider.System);

    private static List<ChatMessage> Ask(string text) => [new(ChatRole.System, "Be brief."), new(ChatRole.User, text)];

    [Fact]
    public async Task SameRequestAndSeedGiveTheSameAnswer()
    {
        var a = await Model.GetResponseAsync(Ask("Tell me about caches"), new ChatOptions { Seed = 3, Temperature = 0.7f });
        var b = await Model.GetResponseAsync(Ask("Tell me about caches"), new ChatOptions { Seed = 3, Temperature = 0.7f });
        Assert.Equal(a.Text, b.Text);
        Assert.Equal(a.Usage!.OutputTokenCount, b.Usage!.OutputTokenCount);
        Assert.StartsWith("Offline answer about \"Tell me about caches\":", a.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnotherSeedOrPromptGivesAnotherAnswer()
    {
        var a = await Model.GetResponseAsync(Ask("Tell me about caches"), new ChatOptions { Seed = 3 });
        var b = await Model.GetResponseAsync(Ask("Tell me about caches"), new ChatOptions { Seed = 4 });
        var c = await Model.GetResponseAsync(Ask("Tell me about queues"), new ChatOptions { Seed = 3 });
        Assert.NotEqual(a.Text, b.Text);
        Assert.NotEqual(a.Text, c.Text);
    }

    [Fact]
    public async Task StreamingYieldsTokensThatAddUpToTheSameAnswerAndUsage()
    {
        var options = new ChatOptions { Seed = 11 };
        var whole = await Model.GetResponseAsync(Ask("stream me"), options);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in Model.GetStreamingResponseAsync(Ask("stream me"), options))
        {
            updates.Add(u);
        }

        Assert.True(updates.Count(u => u.Text.Length > 0) > 5, "streams token by token");
        Assert.Equal(whole.Text, string.Concat(updates.Select(u => u.Text)));
        var usage = updates.SelectMany(u => u.Contents).OfType<UsageContent>().Single().Details;
        Assert.Equal(whole.Usage!.OutputTokenCount, usage.OutputTokenCount);
        Assert.Equal(whole.Usage.InputTokenCount, usage.InputTokenCount);
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
    }

    [Fact]
    public async Task MaxTokensCutsTheAnswerWithFinishReasonLength()
    {
        var full = await Model.GetResponseAsync(Ask("long"), new ChatOptions { Seed = 1 });
        var cut = await Model.GetResponseAsync(Ask("long"), new ChatOptions { Seed = 1, MaxOutputTokens = 4 });
        Assert.Equal(ChatFinishReason.Length, cut.FinishReason);
        Assert.Equal(4, cut.Usage!.OutputTokenCount);
        Assert.StartsWith(cut.Text, full.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StopSequenceEndsTheAnswerBeforeIt()
    {
        var full = await Model.GetResponseAsync(Ask("stop test"), new ChatOptions { Seed = 5 });
        var stop = full.Text.Split(' ')[4];
        var cut = await Model.GetResponseAsync(Ask("stop test"), new ChatOptions { Seed = 5, StopSequences = [stop] });
        Assert.Equal(full.Text[..full.Text.IndexOf(stop, StringComparison.Ordinal)], cut.Text);
        Assert.Equal(ChatFinishReason.Stop, cut.FinishReason);
    }

    [Fact]
    public async Task JsonObjectFormatGivesAJsonObject()
    {
        var r = await Model.GetResponseAsync(Ask("json please"), new ChatOptions { ResponseFormat = ChatResponseFormat.Json });
        using var doc = JsonDocument.Parse(r.Text);
        Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task JsonSchemaFormatGivesAnInstanceOfTheSchema(long seed)
    {
        const string schemaJson = """
            {"type":"object","required":["title","tags","score","status","when","nested"],"additionalProperties":false,
             "properties":{"title":{"type":"string","minLength":3,"maxLength":40},"tags":{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":3},
             "score":{"type":"integer","minimum":1,"maximum":5},"ratio":{"type":"number","minimum":0,"maximum":1},"status":{"enum":["open","closed"]},
             "when":{"type":"string","format":"date-time"},"flag":{"type":"boolean"},"nested":{"$ref":"#/$defs/inner"}},
             "$defs":{"inner":{"type":"object","properties":{"id":{"type":"string","format":"uuid"}},"required":["id"]}}}
            """;
        using var schemaDoc = JsonDocument.Parse(schemaJson);
        var r = await Model.GetResponseAsync(Ask("structured"), new ChatOptions { Seed = seed, ResponseFormat = ChatResponseFormat.ForJsonSchema(schemaDoc.RootElement.Clone(), "thing") });
        var schema = await JsonSchema.FromJsonAsync(schemaJson.Replace("$defs", "definitions", StringComparison.Ordinal));
        Assert.Empty(schema.Validate(r.Text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Hello, world!")]
    [InlineData("  two  spaces and\ttabs\nlines  ")]
    [InlineData("ünïcödé 漢字 🚀 ok")]
    public void TokenizerLosesNothing(string text)
    {
        Assert.Equal(text, string.Concat(OfflineChatClient.Tokenize(text)));
    }
}
