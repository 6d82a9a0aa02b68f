namespace App.UnitTests;

public class TokenCounterTests
{
    [Theory]
    [InlineData("Hello, world!", 4)]
    [InlineData("", 0)]
    public void CountsWithO200kBase(string text, int expected) =>
        Assert.Equal(expected, App.Infrastructure.Traces.TokenCounter.Count(text));

    [Fact]
    public void PromptsAddMessageFraming() =>
        Assert.Equal(3 + 1 + 4 + 3, App.Infrastructure.Traces.TokenCounter.CountPrompt([("user", "Hello, world!")]));
}
