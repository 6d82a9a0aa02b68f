using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using App.Testing;

namespace App.IntegrationTests.Traffic;

/// <summary>
/// Rate limits and budgets kept in a real Redis, enforced by two app instances that share it, as two replicas
/// behind a load balancer would.
/// </summary>
public class RateLimitTests : GatewayTest
{
    private GatewayFactory _second = null!;
    private HttpClient _secondClient = null!;

    protected override Settings Configure(Settings settings) => base.Configure(settings)
        .With($"Traffic:Tenants:{Tenant}:RateLimits:RequestsPerMinute", "6")
        .With($"Traffic:Tenants:{Tenant}:RateLimits:TokensPerMinute", "100000")
        .With($"Traffic:Tenants:{Tenant}:RateLimits:Models:small:RequestsPerMinute", "1000")
        .With($"Traffic:Tenants:{Tenant}:RateLimits:Models:small:TokensPerMinute", "400")
        .Route("small", Deployment.OpenAi(Upstream.BaseUrl, "small-model"));

    private async Task<HttpClient> SecondInstanceAsync()
    {
        _second = new GatewayFactory(Redis.ConnectionString, await Databases.SharedAsync(), Configure(new Settings().With("Cache:KeyPrefix", $"test:{Guid.NewGuid():N}:")));
        _secondClient = _second.CreateClientFor(Tenant);
        return _secondClient;
    }

    public override async Task DisposeAsync()
    {
        _secondClient?.Dispose();
        if (_second is not null)
        {
            await _second.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, JsonObject body) =>
        await client.PostAsync("/v1/chat/completions", new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));

    [Fact]
    public async Task TwoInstancesSharingRedisEnforceOneRequestLimit()
    {
        var second = await SecondInstanceAsync();
        // 20 requests at once, alternating between the instances, against a limit of 6 per minute for this user.
        var calls = Enumerable.Range(0, 20).Select(i => SendAsync(i % 2 == 0 ? Client : second, Chat($"two instances {i}", temperature: 0.7))).ToList();
        var responses = await Task.WhenAll(calls);
        try
        {
            Assert.Equal(6, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
            Assert.Equal(14, responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
            Assert.Equal(6, Upstream.Requests);

            var refused = responses.First(r => r.StatusCode == HttpStatusCode.TooManyRequests);
            var problem = await ReadAsync(refused);
            Assert.Equal("urn:app:problem:rate-limited", problem.GetProperty("type").GetString());
            Assert.Equal("rate_limit_exceeded", problem.GetProperty("error").GetProperty("code").GetString());
            var retryAfter = int.Parse(Header(refused, "Retry-After")!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(retryAfter, 1, 120);
            Assert.Equal("6", Header(refused, "x-ratelimit-limit-requests"));
            Assert.Equal("0", Header(refused, "x-ratelimit-remaining-requests"));
            Assert.Contains("\"requests\";q=6;w=60", Header(refused, "RateLimit-Policy"), StringComparison.Ordinal);
            Assert.Matches("^\"requests\";r=0;t=\\d+, \"tokens\";r=\\d+;t=\\d+$", Header(refused, "RateLimit"));

            var admitted = responses.First(r => r.StatusCode == HttpStatusCode.OK);
            Assert.NotNull(Header(admitted, "x-ratelimit-remaining-tokens"));
        }
        finally
        {
            foreach (var r in responses)
            {
                r.Dispose();
            }
        }

        // Another user of the same tenant has a limit of their own.
        using var other = Factory.CreateClientFor(Tenant, "user-2");
        using var otherResponse = await SendAsync(other, Chat("another user", temperature: 0.7));
        Assert.Equal(HttpStatusCode.OK, otherResponse.StatusCode);
    }

    [Fact]
    public async Task TokensAreReservedBeforeTheCallAndReconciledAfterIt()
    {
        var second = await SecondInstanceAsync();
        // 400 tokens per minute on "small": each call reserves its prompt plus max_tokens 300, but uses far less.
        for (var i = 0; i < 4; i++)
        {
            var body = Chat($"reconcile {i}", model: "small", temperature: 0.7, stream: i % 2 == 1, includeUsage: i % 2 == 1);
            body["max_tokens"] = 300;
            using var response = await SendAsync(i % 2 == 0 ? Client : second, body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            _ = await response.Content.ReadAsStringAsync();
            var remaining = long.Parse(Header(response, "x-ratelimit-remaining-tokens")!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(remaining, 0, 100);
            // The settlement is issued as the response completes; give it the moment it needs to land.
            await Task.Delay(100);
        }

        // Two reservations of 300+ at once cannot both fit in 400; one of them is refused with a wait.
        var a = Chat("burst a", model: "small", temperature: 0.7);
        a["max_tokens"] = 300;
        var b = Chat("burst b", model: "small", temperature: 0.7);
        b["max_tokens"] = 300;
        Upstream.Behaviour.Latency = TimeSpan.FromMilliseconds(300);
        var both = await Task.WhenAll(SendAsync(Client, a), SendAsync(second, b));
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.TooManyRequests], both.Select(r => r.StatusCode).Order());
        var refused = await ReadAsync(both.Single(r => r.StatusCode == HttpStatusCode.TooManyRequests));
        Assert.Contains("tokens", refused.GetProperty("detail").GetString(), StringComparison.Ordinal);
        foreach (var r in both)
        {
            r.Dispose();
        }
    }

    [Fact]
    public async Task ARequestLargerThanTheTokenLimitIsRefusedAsInvalidNotRetryable()
    {
        var body = Chat("too large", model: "small");
        body["max_tokens"] = 5000;
        using var response = await PostAsync(body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await ReadAsync(response);
        Assert.Equal("request_too_large", problem.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(0, Upstream.Requests);
    }

    [Fact]
    public async Task UnpricedCallsAreSettledWithTheirRealTokensAtZeroCost()
    {
        long tokens = 0;
        using (var plain = await PostAsync(Chat("settle me", temperature: 0.7)))
        {
            tokens += (await ReadAsync(plain)).GetProperty("usage").GetProperty("total_tokens").GetInt64();
        }

        using (var streamed = await PostAsync(Chat("settle me too", temperature: 0.7, stream: true, includeUsage: true), completion: HttpCompletionOption.ResponseHeadersRead))
        {
            tokens += (await ReadStreamAsync(streamed)).Usage!.Value.GetProperty("total_tokens").GetInt64();
        }

        JsonElement day = default;
        for (var attempt = 0; attempt < 50; attempt++)
        {
            day = JsonDocument.Parse(await Client.GetStringAsync("/v1/usage")).RootElement.GetProperty("day").Clone();
            if (day.GetProperty("input_tokens").GetInt64() + day.GetProperty("output_tokens").GetInt64() == tokens)
            {
                break;
            }

            await Task.Delay(50);
        }

        Assert.Equal(2, day.GetProperty("requests").GetInt64());
        Assert.Equal(tokens, day.GetProperty("input_tokens").GetInt64() + day.GetProperty("output_tokens").GetInt64());
        Assert.Equal(0m, day.GetProperty("cost_usd").GetDecimal());
    }

    [Fact]
    public async Task RefusalsAreTracedAsRejected()
    {
        for (var i = 0; i < 7; i++)
        {
            using var response = await PostAsync(Chat($"traced {i}", temperature: 0.7));
        }

        using var reader = Factory.CreateClientFor(Tenant, "auditor", App.Application.Identity.Scopes.TracesRead);
        JsonElement page = default;
        for (var attempt = 0; attempt < 50; attempt++)
        {
            page = JsonDocument.Parse(await reader.GetStringAsync("/v1/traces?limit=50")).RootElement.Clone();
            if (page.GetProperty("data").GetArrayLength() >= 7)
            {
                break;
            }

            await Task.Delay(100);
        }

        var traces = page.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(7, traces.Count);
        Assert.Equal(6, traces.Count(t => t.GetProperty("status").GetString() == "ok"));
        var rejected = Assert.Single(traces, t => t.GetProperty("status").GetString() == "rejected");
        Assert.Equal("RateLimited", rejected.GetProperty("error_type").GetString());
    }
}
