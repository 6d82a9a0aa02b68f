using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using App.Testing;

namespace App.IntegrationTests.Rum;

/// <summary>
/// <c>POST /rum</c>: a good beacon moves the App.Rum histograms (in seconds, without attributes); anything else (too
/// big, unknown or repeated members, values that are not finite numbers in range, not JSON, another media type,
/// another site, a flood) gets a 4xx problem and leaves every histogram as it was.
/// </summary>
// The RUM histograms have no attributes and are one per process: the tests that send beacons take turns.
[Collection("rum beacons")]
public sealed class RumTests : IClassFixture<RumTests.Host>, IDisposable
{
    private const string Json = "application/json";

    private readonly Host _host;
    private readonly ConcurrentQueue<(string Name, double Value, int Tags)> _recorded = new();
    private readonly MeterListener _listener = new();

    public RumTests(Host host)
    {
        _host = host;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "App.Rum")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => _recorded.Enqueue((instrument.Name, value, tags.Length)));
        _listener.Start();
    }

    public void Dispose() => _listener.Dispose();

    public static TheoryData<string, string?, string, int, string?> BadBeacons() => new()
    {
        { "over 2 KB", Json, "{\"lcp\":1000" + new string(' ', 3000) + "}", 413, null },
        { "an unknown metric", Json, "{\"fid\":12}", 400, "fid" },
        { "an unknown member", Json, "{\"lcp\":1000,\"url\":\"https://example.com/chat?q=secret\"}", 400, "url" },
        { "a metric twice", Json, "{\"lcp\":1000,\"lcp\":2000}", 400, "lcp" },
        { "NaN", Json, "{\"lcp\":NaN}", 400, null },
        { "NaN as a string", Json, "{\"lcp\":\"NaN\"}", 400, "lcp" },
        { "a number as a string", Json, "{\"ttft\":\"640\"}", 400, "ttft" },
        { "null", Json, "{\"lcp\":null}", 400, "lcp" },
        { "an object", Json, "{\"lcp\":{\"value\":1000}}", 400, "lcp" },
        { "a negative time", Json, "{\"inp\":-1}", 400, "inp" },
        { "a number past double", Json, "{\"ttft\":1e400}", 400, "ttft" },
        { "over a minute", Json, "{\"lcp\":60000.5}", 400, "lcp" },
        { "a layout shift over 10", Json, "{\"cls\":10.5}", 400, "cls" },
        { "one bad metric among good ones", Json, "{\"lcp\":1000,\"inp\":40,\"cls\":50}", 400, "cls" },
        { "no metric", Json, "{}", 400, null },
        { "an array", Json, "[1000]", 400, null },
        { "two objects", Json, "{\"lcp\":1}{\"lcp\":2}", 400, null },
        { "garbage", "text/plain", "lcp=1000&inp=40", 400, null },
        { "an empty body", "text/plain;charset=UTF-8", string.Empty, 400, null },
        { "a form", "application/x-www-form-urlencoded", "lcp=1000", 415, null },
        { "no media type", null, "{\"lcp\":1000}", 415, null },
        { "another charset", "text/plain; charset=iso-8859-1", "{\"lcp\":1000}", 415, null },
    };

    [Fact]
    public async Task GoodBeaconsMoveEachHistogramInSecondsWithoutAttributes()
    {
        using var client = _host.Factory.CreateClient();
        using (var json = await PostAsync(client, Json, "{\"lcp\":1234.5,\"inp\":48,\"cls\":0.02,\"ttft\":640}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, json.StatusCode);
        }

        Assert.Equal(
            [("app.rum.cls", 0.02), ("app.rum.inp", 0.048), ("app.rum.lcp", 1.2345), ("app.rum.ttft", 0.64)],
            _recorded.Select(r => (r.Name, Math.Round(r.Value, 6))).Order());
        Assert.All(_recorded, r => Assert.Equal(0, r.Tags));

        // navigator.sendBeacon with a string sends text/plain; any subset of the metrics is a beacon.
        _recorded.Clear();
        using (var text = await PostAsync(client, "text/plain;charset=UTF-8", "{ \"l\\u0063p\": 800, \"cls\": 0 }"))
        {
            Assert.Equal(HttpStatusCode.NoContent, text.StatusCode);
        }

        Assert.Equal([("app.rum.cls", 0.0), ("app.rum.lcp", 0.8)], _recorded.Select(r => (r.Name, r.Value)).Order());
    }

    [Theory]
    [MemberData(nameof(BadBeacons))]
    public async Task BadBeaconsGetAProblemAndRecordNothing(string what, string? mediaType, string body, int status, string? member)
    {
        using var client = _host.Factory.CreateClient();
        using var response = await PostAsync(client, mediaType, body);
        await AssertProblemAsync(response, status, member, what);
    }

    [Fact]
    public async Task ABodyOfUnknownLengthIsReadOnlyUpToTheLimit()
    {
        using var client = _host.Factory.CreateClient();
        using var content = new UnknownLengthContent(Encoding.UTF8.GetBytes("{\"lcp\":1000" + new string(' ', 100_000) + "}"));
        content.Headers.ContentType = new MediaTypeHeaderValue(Json);
        using var response = await client.PostAsync(new Uri("/rum", UriKind.Relative), content);
        await AssertProblemAsync(response, 413, null, "a body without Content-Length");
    }

    [Fact]
    public async Task ABeaconFromAnotherSiteIsRefused()
    {
        using var client = _host.Factory.CreateClient();
        using var crossSite = await PostAsync(client, Json, "{\"lcp\":1000}", fetchSite: "cross-site");
        await AssertProblemAsync(crossSite, 403, null, "Sec-Fetch-Site: cross-site");

        using var sameOrigin = await PostAsync(client, Json, "{\"lcp\":1000}", fetchSite: "same-origin");
        Assert.Equal(HttpStatusCode.NoContent, sameOrigin.StatusCode);
        Assert.Single(_recorded);
    }

    [Fact]
    public async Task AFloodPastTheLimitGets429WithRetryAfterAndRecordsNothing()
    {
        await using var factory = await StartAsync(new Settings().With("Rum:PermitsPerMinute", "3"));
        using var client = factory.CreateClient();
        for (var i = 0; i < 3; i++)
        {
            using var accepted = await PostAsync(client, Json, "{\"lcp\":1000}");
            Assert.Equal(HttpStatusCode.NoContent, accepted.StatusCode);
        }

        Assert.Equal(3, _recorded.Count);
        for (var i = 0; i < 20; i++)
        {
            using var refused = await PostAsync(client, Json, "{\"lcp\":1000,\"inp\":40}");
            Assert.True(refused.Headers.RetryAfter?.Delta is { TotalSeconds: >= 1 and <= 60 }, $"Retry-After: {refused.Headers.RetryAfter}");
            var problem = await AssertProblemAsync(refused, 429, null, "beacon " + (i + 4));
            Assert.Equal("urn:app:problem:rate-limited", problem.GetProperty("type").GetString());
        }

        Assert.Equal(3, _recorded.Count);
    }

    [Fact]
    public async Task WhenDisabledThereIsNoEndpoint()
    {
        await using var factory = await StartAsync(new Settings().With("Rum:Enabled", "false"));
        using var client = factory.CreateClient();
        using var response = await PostAsync(client, Json, "{\"lcp\":1000}");
        // Refused like any path the service does not serve: without a token that is a 401, with one a 404.
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(_recorded);
    }

    private async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, int status, string? member, string what)
    {
        Assert.True(status == (int)response.StatusCode, $"{what}: {(int)response.StatusCode}, expected {status}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.StartsWith("urn:app:problem:", problem.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()), what);
        var param = problem.GetProperty("error").GetProperty("param");
        Assert.True(member == (param.ValueKind == JsonValueKind.Null ? null : param.GetString()), $"{what}: param {param}, expected {member ?? "null"}");
        Assert.True(_recorded.IsEmpty || status == 429, $"{what}: recorded {string.Join(", ", _recorded)}");
        return problem;
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string? mediaType, string body, string? fetchSite = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/rum") { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        if (mediaType is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Type", mediaType);
        }

        if (fetchSite is not null)
        {
            request.Headers.Add("Sec-Fetch-Site", fetchSite);
        }

        return await client.SendAsync(request);
    }

    private static async Task<GatewayFactory> StartAsync(Settings settings)
    {
        var redis = await SharedServers.RedisAsync();
        var factory = new GatewayFactory(redis.ConnectionString, await Databases.SharedAsync(), settings);
        factory.CreateClient().Dispose();
        return factory;
    }

    /// <summary>One app for the tests that need no settings of their own, with a limit they never reach.</summary>
    public sealed class Host : IAsyncLifetime
    {
        public GatewayFactory Factory { get; private set; } = null!;

        public async Task InitializeAsync() => Factory = await StartAsync(new Settings().With("Rum:PermitsPerMinute", "10000"));

        public async Task DisposeAsync() => await Factory.DisposeAsync();
    }

    /// <summary>A body sent without Content-Length, as a chunked upload is.</summary>
    private sealed class UnknownLengthContent(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
