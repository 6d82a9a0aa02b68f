using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace App.IntegrationTests.Observability;

/// <summary>
/// Every /v1 answer says how its time split between the gateway and the model provider (W3C Server-Timing): whole
/// answers, streams (as of their first token), cache hits and refusals.
/// </summary>
public sealed partial class ServerTimingTests : GatewayTest
{
    [Fact]
    public async Task AWholeAnswerSplitsItsTimeBetweenTheGatewayAndTheUpstream()
    {
        Upstream.Behaviour.Latency = TimeSpan.FromMilliseconds(150);
        var clock = Stopwatch.StartNew();
        using var response = await PostAsync(Chat("how long", temperature: 0.7));
        clock.Stop();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var (gateway, upstream) = Parse(Header(response, "Server-Timing"));
        Assert.NotNull(upstream);
        // The fake's delay runs on a timer of millisecond ticks, which can end a little before the asked time.
        Assert.InRange(upstream!.Value, 145, clock.Elapsed.TotalMilliseconds);
        Assert.InRange(gateway, 0, clock.Elapsed.TotalMilliseconds - upstream.Value + 0.01);
    }

    [Fact]
    public async Task AStreamSaysItsSplitUpToItsFirstToken()
    {
        Upstream.Behaviour.Latency = TimeSpan.FromMilliseconds(120);
        Upstream.Behaviour.ChunkInterval = TimeSpan.FromMilliseconds(60);
        var clock = Stopwatch.StartNew();
        using var response = await PostAsync(Chat("stream it", temperature: 0.7, stream: true), completion: HttpCompletionOption.ResponseHeadersRead);
        var headersAt = clock.Elapsed.TotalMilliseconds;
        var (gateway, upstream) = Parse(Header(response, "Server-Timing"));
        var stream = await ReadStreamAsync(response);
        Assert.True(stream.Done);

        Assert.NotNull(upstream);
        Assert.InRange(upstream!.Value, 115, headersAt);
        Assert.InRange(gateway, 0, headersAt - upstream.Value + 0.01);
        // The header speaks of the time up to the first token: the seven chunks after it, about 60 ms apart, are not in it.
        Assert.True(gateway + upstream.Value <= clock.Elapsed.TotalMilliseconds - 380, $"stream took {clock.Elapsed.TotalMilliseconds:0} ms, header says {gateway + upstream.Value:0} ms");
    }

    [Fact]
    public async Task ACacheHitAndARefusalSpendOnlyGatewayTime()
    {
        using (var first = await PostAsync(Chat("cached", temperature: 0)))
        {
            Assert.Equal("miss", Header(first, "x-cache"));
        }

        using var hit = await PostAsync(Chat("cached", temperature: 0));
        Assert.Equal("hit", Header(hit, "x-cache"));
        var (_, upstream) = Parse(Header(hit, "Server-Timing"));
        Assert.Null(upstream);

        using var unknown = await PostAsync(Chat("nowhere", model: "no-such-model"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Null(Parse(Header(unknown, "Server-Timing")).Upstream);

        using var refused = await Factory.CreateClient().GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Null(Parse(Header(refused, "Server-Timing")).Upstream);

        using var health = await Client.GetAsync("/health/live");
        Assert.False(health.Headers.Contains("Server-Timing"));
    }

    private static (double Gateway, double? Upstream) Parse(string? header)
    {
        Assert.False(string.IsNullOrEmpty(header), "no Server-Timing header");
        var match = ServerTiming().Match(header!);
        Assert.True(match.Success, $"Server-Timing not as documented: {header}");
        var gateway = double.Parse(match.Groups["gw"].Value, CultureInfo.InvariantCulture);
        double? upstream = match.Groups["up"].Success ? double.Parse(match.Groups["up"].Value, CultureInfo.InvariantCulture) : null;
        return (gateway, upstream);
    }

    [GeneratedRegex(@"^gw;dur=(?<gw>\d+(\.\d{1,3})?)(, upstream;dur=(?<up>\d+(\.\d{1,3})?))?$")]
    private static partial Regex ServerTiming();
}
