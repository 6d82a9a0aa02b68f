using App.Api.OpenAi;
using App.Application.Traffic;
using Microsoft.AspNetCore.Http;

namespace App.UnitTests;

public class RateLimitHeadersTests
{
    private static IHeaderDictionary Written(RateWindow? requests, RateWindow? tokens)
    {
        var context = new DefaultHttpContext();
        RateLimitHeaders.Write(context.Response, new Admission { Verdict = AdmissionVerdict.Admitted, Requests = requests, Tokens = tokens });
        return context.Response.Headers;
    }

    // The policy is built once per set of limits and kept: callers with other limits, one after the other, must
    // each get their own.
    [Fact]
    public void EachCallerGetsItsOwnLimitsWhateverCameBefore()
    {
        var first = Written(new RateWindow(600, 599, TimeSpan.FromSeconds(12.2)), new RateWindow(90_000, 89_000, TimeSpan.FromSeconds(0.4)));
        Assert.Equal("600", first["x-ratelimit-limit-requests"]);
        Assert.Equal("599", first["x-ratelimit-remaining-requests"]);
        Assert.Equal("13s", first["x-ratelimit-reset-requests"]);
        Assert.Equal("90000", first["x-ratelimit-limit-tokens"]);
        Assert.Equal("1s", first["x-ratelimit-reset-tokens"]);
        Assert.Equal("\"requests\";q=600;w=60, \"tokens\";q=90000;w=60", first["RateLimit-Policy"]);
        Assert.Equal("\"requests\";r=599;t=13, \"tokens\";r=89000;t=1", first["RateLimit"]);

        var second = Written(new RateWindow(6, 0, TimeSpan.FromSeconds(59)), null);
        Assert.Equal("6", second["x-ratelimit-limit-requests"]);
        Assert.Equal("\"requests\";q=6;w=60", second["RateLimit-Policy"]);
        Assert.Equal("\"requests\";r=0;t=59", second["RateLimit"]);
        Assert.False(second.ContainsKey("x-ratelimit-limit-tokens"));

        var third = Written(null, new RateWindow(400, 100, TimeSpan.FromSeconds(75)));
        Assert.Equal("\"tokens\";q=400;w=60", third["RateLimit-Policy"]);
        Assert.Equal("\"tokens\";r=100;t=75", third["RateLimit"]);
        Assert.Equal("75s", third["x-ratelimit-reset-tokens"]);
        Assert.False(third.ContainsKey("x-ratelimit-limit-requests"));

        Assert.Equal("\"requests\";q=600;w=60, \"tokens\";q=90000;w=60", Written(new RateWindow(600, 1, TimeSpan.FromSeconds(1)), new RateWindow(90_000, 1, TimeSpan.FromSeconds(1)))["RateLimit-Policy"]);
    }

    [Fact]
    public void NoLimitsNoHeaders()
    {
        Assert.Empty(Written(null, null));
        var context = new DefaultHttpContext();
        RateLimitHeaders.Write(context.Response, null);
        Assert.Empty(context.Response.Headers);
    }
}
