using App.Application.Identity;

namespace App.UnitTests;

public class AuthOptionsValidatorTests
{
    private static List<string> Errors(AuthOptions options) => [.. new AuthOptionsValidator().Validate(null, options).Failures ?? []];

    [Fact]
    public void TheDefaultsAreValid() => Assert.Empty(Errors(new AuthOptions()));

    [Fact]
    public void AccessTokensLiveAtMostFiveMinutesAndSkewIsAtMostThirtySeconds()
    {
        Assert.Contains("Auth:AccessTokenLifetime must be positive and at most 00:05:00.", Errors(new AuthOptions { AccessTokenLifetime = TimeSpan.FromMinutes(6) }));
        Assert.Contains("Auth:ClockSkew must be between 0 and 00:00:30.", Errors(new AuthOptions { ClockSkew = TimeSpan.FromMinutes(1) }));
    }

    [Theory]
    [InlineData("00:00:00.500")]
    [InlineData("01:00:01")]
    public void TheMetadataRefreshIntervalIsBetweenOneSecondAndOneHour(string interval) =>
        Assert.Contains("Auth:MetadataRefreshInterval must be between 00:00:01 and 01:00:00.", Errors(new AuthOptions
        {
            MetadataRefreshInterval = TimeSpan.Parse(interval, System.Globalization.CultureInfo.InvariantCulture),
            UnknownKeyRefreshInterval = TimeSpan.FromSeconds(1),
        }));

    [Theory]
    [InlineData("00:00:00.500", "00:01:00")]
    [InlineData("00:00:03", "00:00:02")]
    public void TheLeastGapOnAnUnknownKidIsAtLeastOneSecondAndAtMostTheMetadataRefreshInterval(string gap, string interval) =>
        Assert.Contains("Auth:UnknownKeyRefreshInterval must be at least 00:00:01 and at most Auth:MetadataRefreshInterval.", Errors(new AuthOptions
        {
            UnknownKeyRefreshInterval = TimeSpan.Parse(gap, System.Globalization.CultureInfo.InvariantCulture),
            MetadataRefreshInterval = TimeSpan.Parse(interval, System.Globalization.CultureInfo.InvariantCulture),
        }));

    [Fact]
    public void AWithdrawnKeyIsTrustedAtMostAMinuteAndAnUnknownKidWaitsAtMostSecondsByDefault()
    {
        var defaults = new AuthOptions();
        Assert.True(defaults.MetadataRefreshInterval <= TimeSpan.FromMinutes(1));
        Assert.True(defaults.UnknownKeyRefreshInterval <= TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void UnknownDefaultScopesAndIncompleteIssuersAreRefused()
    {
        var errors = Errors(new AuthOptions
        {
            DefaultScopes = "chat:invoke everything",
            ExternalIssuers = [new ExternalIssuerOptions { Name = "bad name", TokenTypes = [] }],
        });
        Assert.Contains("Auth:DefaultScopes: 'everything' is not a known scope.", errors);
        Assert.Contains("Auth:ExternalIssuers:0:Name is required: letters, digits, '-' or '_'.", errors);
        Assert.Contains("Auth:ExternalIssuers:0:Authority must be an absolute URL.", errors);
        Assert.Contains("Auth:ExternalIssuers:0:Audience is required.", errors);
        Assert.Contains("Auth:ExternalIssuers:0:TokenTypes must list at least one accepted typ.", errors);
    }

    [Theory]
    [InlineData("chat:invoke admin", new[] { "chat:invoke", "admin" })]
    [InlineData("  chat:invoke   chat:invoke ", new[] { "chat:invoke" })]
    [InlineData("", new string[0])]
    public void ScopesParseAsASpaceSeparatedSet(string value, string[] expected) => Assert.Equal(expected, Scopes.Parse(value));
}
