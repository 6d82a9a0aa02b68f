using App.Application.Traffic;

namespace App.UnitTests;

public class TrafficOptionsTests
{
    private static readonly TrafficOptions Options = new()
    {
        RateLimits = new RateLimitSettings
        {
            RequestsPerMinute = 100,
            TokensPerMinute = 1000,
            Models = { ["big"] = new RateLimitSettings { RequestsPerMinute = 5, TokensPerMinute = 50 } },
        },
        Tenants =
        {
            ["acme"] = new TenantTraffic
            {
                RateLimits = new RateLimitSettings { RequestsPerMinute = 7 },
                Budgets = new BudgetSettings { DailyCost = 1.5m },
            },
        },
        Budgets = new BudgetSettings { MonthlyTokens = 10 },
        Prices = { ["gpt"] = new ModelPrice { InputPerMillion = 2.5m, OutputPerMillion = 10m } },
    };

    [Fact]
    public void ATenantsOwnLimitsReplaceTheDefaultsAndModelsReplaceTheirParent()
    {
        Assert.Equal(5, Options.RateLimitsFor("other", "big").RequestsPerMinute);
        Assert.Equal(100, Options.RateLimitsFor("other", "gpt").RequestsPerMinute);
        Assert.Equal(7, Options.RateLimitsFor("acme", "big").RequestsPerMinute);
        Assert.Null(Options.RateLimitsFor("acme", "gpt").TokensPerMinute);
        Assert.Equal(1.5m, Options.BudgetsFor("acme").DailyCost);
        Assert.Null(Options.BudgetsFor("acme").MonthlyTokens);
        Assert.Equal(10, Options.BudgetsFor("other").MonthlyTokens);
    }

    [Theory]
    [InlineData(1_000_000, 0, 2_500_000_000)]
    [InlineData(0, 1_000_000, 10_000_000_000)]
    [InlineData(1, 1, 12_500)]
    [InlineData(0, 0, 0)]
    public void PricesAreKeptInNanoDollars(long input, long output, long expected) =>
        Assert.Equal(expected, Options.PriceOf("gpt").NanoDollars(input, output));

    [Fact]
    public void AnUnpricedModelIsFree() => Assert.Equal(0, Options.PriceOf("unknown").NanoDollars(1000, 1000));

    [Fact]
    public void ZeroOrNegativeLimitsAndBudgetsAreRefused()
    {
        var bad = new TrafficOptions
        {
            RateLimits = new RateLimitSettings { RequestsPerMinute = 0 },
            Tenants = { ["t"] = new TenantTraffic { Budgets = new BudgetSettings { DailyCost = -1 } } },
            Prices = { ["m"] = new ModelPrice { InputPerMillion = -1 } },
        };
        var result = new TrafficOptionsValidator().Validate(null, bad);
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith("Traffic:RateLimits", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.StartsWith("Traffic:Tenants:t:Budgets", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.StartsWith("Traffic:Prices:m", StringComparison.Ordinal));
        Assert.True(new TrafficOptionsValidator().Validate(null, new TrafficOptions()).Succeeded);
    }

    [Theory]
    [InlineData(-1, 1000)]
    [InlineData(10_001, 1000)]
    [InlineData(16, 0)]
    [InlineData(16, 120_000)]
    public void LeasesOutOfRangeAreRefusedNamingTheKey(int calls, int milliseconds)
    {
        var result = new TrafficOptionsValidator().Validate(null, new TrafficOptions { LeaseCalls = calls, LeaseTime = TimeSpan.FromMilliseconds(milliseconds) });
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith(calls is < 0 or > 10_000 ? "Traffic:LeaseCalls" : "Traffic:LeaseTime", StringComparison.Ordinal));
    }
}
