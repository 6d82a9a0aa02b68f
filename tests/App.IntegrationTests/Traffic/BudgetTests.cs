using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using App.Testing;

namespace App.IntegrationTests.Traffic;

/// <summary>Tenant budgets priced from the price table, accounted on every route, shown by <c>GET /v1/usage</c>.</summary>
public class BudgetTests : GatewayTest
{
    // Dear on purpose, so a handful of small calls use up the budget: 1,000 and 2,000 USD per million tokens.
    private const decimal InputPrice = 0.001m, OutputPrice = 0.002m;
    private const decimal DailyCost = 0.2m;

    protected override Settings Configure(Settings settings) => base.Configure(settings)
        .With("Traffic:Prices:gpt:InputPerMillion", "1000")
        .With("Traffic:Prices:gpt:OutputPerMillion", "2000")
        .With($"Traffic:Tenants:{Tenant}:Budgets:DailyCost", DailyCost.ToString(System.Globalization.CultureInfo.InvariantCulture))
        .With($"Traffic:Tenants:{Tenant}:Budgets:MonthlyTokens", "100000");

    private async Task<JsonElement> UsageAsync()
    {
        var json = await Client.GetStringAsync("/v1/usage");
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    private static decimal Cost(JsonElement usage) =>
        (usage.GetProperty("prompt_tokens").GetInt64() * InputPrice) + (usage.GetProperty("completion_tokens").GetInt64() * OutputPrice);

    [Fact]
    public async Task SpendIsAccountedOnEveryRouteAndTheBudgetStopsCalls()
    {
        var spent = 0m;
        long tokens = 0;
        var calls = 0;
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 40 && refused is null; i++)
        {
            var streamed = i % 2 == 1;
            var body = Chat($"spend {i}", temperature: 0.7, stream: streamed, includeUsage: streamed);
            body["max_tokens"] = 10;
            var response = await PostAsync(body, completion: HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                refused = response;
                break;
            }

            var usage = streamed
                ? (await ReadStreamAsync(response)).Usage!.Value
                : (await ReadAsync(response)).GetProperty("usage");
            spent += Cost(usage);
            tokens += usage.GetProperty("total_tokens").GetInt64();
            calls++;
            response.Dispose();
            await Task.Delay(50);
        }

        Assert.NotNull(refused);
        using (refused)
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            var problem = await ReadAsync(refused);
            Assert.Equal("urn:app:problem:budget-exceeded", problem.GetProperty("type").GetString());
            Assert.Equal("insufficient_quota", problem.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal("false", Header(refused, "x-should-retry"));
            Assert.NotNull(Header(refused, "Retry-After"));
        }

        Assert.True(calls >= 3, $"only {calls} calls fit in the budget");
        Assert.Equal(calls, Upstream.Requests);
        Assert.True(spent <= DailyCost, $"spent {spent} of {DailyCost}");

        var report = await UsageAsync();
        var day = report.GetProperty("day");
        Assert.Equal(Tenant, report.GetProperty("tenant").GetString());
        Assert.Equal(spent, day.GetProperty("cost_usd").GetDecimal());
        Assert.Equal(tokens, day.GetProperty("input_tokens").GetInt64() + day.GetProperty("output_tokens").GetInt64());
        Assert.Equal(calls, day.GetProperty("requests").GetInt64());
        Assert.Equal(DailyCost, day.GetProperty("budget").GetProperty("cost_usd").GetDecimal());
        Assert.Equal(DailyCost - spent, day.GetProperty("remaining").GetProperty("cost_usd").GetDecimal());
        var month = report.GetProperty("month");
        Assert.Equal(100000, month.GetProperty("budget").GetProperty("tokens").GetInt64());
        Assert.Equal(100000 - tokens, month.GetProperty("remaining").GetProperty("tokens").GetInt64());
    }

    [Fact]
    public async Task CacheHitsUseTokensButCostNothing()
    {
        // Without max_tokens a call reserves 512 answer tokens, more than this budget: these calls name their size.
        var body = Chat("priced once", temperature: 0);
        body["max_tokens"] = 10;
        using (var first = await PostAsync(body))
        {
            Assert.Equal("miss", Header(first, "x-cache"));
            _ = await ReadAsync(first);
        }

        await Task.Delay(100);
        var before = (await UsageAsync()).GetProperty("day");
        long hitTokens;
        using (var second = await PostAsync(JsonNode.Parse(body.ToJsonString())!.AsObject()))
        {
            Assert.Equal("hit", Header(second, "x-cache"));
            hitTokens = (await ReadAsync(second)).GetProperty("usage").GetProperty("total_tokens").GetInt64();
        }

        await Task.Delay(100);
        var after = (await UsageAsync()).GetProperty("day");
        Assert.Equal(before.GetProperty("cost_usd").GetDecimal(), after.GetProperty("cost_usd").GetDecimal());
        Assert.True(before.GetProperty("cost_usd").GetDecimal() > 0);
        Assert.Equal(before.GetProperty("cached_tokens").GetInt64() + hitTokens, after.GetProperty("cached_tokens").GetInt64());
        Assert.Equal(before.GetProperty("requests").GetInt64() + 1, after.GetProperty("requests").GetInt64());
    }

    [Fact]
    public async Task AnotherTenantSeesOnlyItsOwnUsage()
    {
        var body = Chat("mine", temperature: 0.7);
        body["max_tokens"] = 10;
        using (var call = await PostAsync(body))
        {
            Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        }

        using var other = Factory.CreateClientFor("other-" + Tenant);
        var report = JsonDocument.Parse(await other.GetStringAsync("/v1/usage")).RootElement;
        Assert.Equal(0, report.GetProperty("day").GetProperty("requests").GetInt64());
        Assert.Equal(JsonValueKind.Null, report.GetProperty("day").GetProperty("budget").GetProperty("cost_usd").ValueKind);
    }
}
