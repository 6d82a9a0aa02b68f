using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;

namespace App.IntegrationTests.Jobs;

public class IdempotencyTests : JobTestBase
{
    [Fact]
    public async Task JobSubmissionRequiresAKey()
    {
        using var response = await SubmitAsync(new JsonObject { ["request"] = ChatRequest("no key") }, key: null);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await ReadAsync(response);
        Assert.Equal("urn:app:problem:idempotency-key-required", problem.GetProperty("type").GetString());
        Assert.Equal(0, await CountJobsAsync());

        using var tooLong = await SubmitAsync(new JsonObject { ["request"] = ChatRequest("long key") }, new string('k', 256));
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
    }

    [Fact]
    public async Task TheSameKeyAndBodyReplaysTheFirstAnswer()
    {
        var body = new JsonObject { ["request"] = ChatRequest("replay") };
        using var first = await SubmitAsync(body, "key-1");
        using var second = await SubmitAsync(body, "key-1");
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal("true", second.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.Equal(1, await CountJobsAsync());
    }

    [Fact]
    public async Task TheSameKeyWithAnotherBodyIs422()
    {
        using var first = await SubmitAsync(new JsonObject { ["request"] = ChatRequest("one body") }, "key-2");
        using var second = await SubmitAsync(new JsonObject { ["request"] = ChatRequest("another body") }, "key-2");
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, second.StatusCode);
        Assert.Equal("urn:app:problem:idempotency-key-reused", (await ReadAsync(second)).GetProperty("type").GetString());
        Assert.Equal(1, await CountJobsAsync());
    }

    [Fact]
    public async Task ConcurrentRequestsWithOneKeyExecuteOnce()
    {
        var body = new JsonObject { ["request"] = ChatRequest("concurrent") };
        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => SubmitAsync(body, "key-3")));
        try
        {
            Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.Accepted, HttpStatusCode.Conflict }));
            var accepted = responses.Where(r => r.StatusCode == HttpStatusCode.Accepted).ToList();
            Assert.NotEmpty(accepted);
            var ids = await Task.WhenAll(accepted.Select(async r => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid()));
            Assert.Single(ids.Distinct());
            Assert.Equal(1, await CountJobsAsync());
        }
        finally
        {
            foreach (var r in responses)
            {
                r.Dispose();
            }
        }
    }

    [Fact]
    public async Task KeysArePerTenant()
    {
        var body = new JsonObject { ["request"] = ChatRequest("per tenant") };
        using var mine = await SubmitAsync(body, "shared-key");
        using var other = Factory.CreateClientFor("other-" + Tenant, "user-1", App.Application.Identity.Scopes.JobsWrite);
        using var message = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
        message.Headers.Add("Idempotency-Key", "shared-key");
        using var theirs = await other.SendAsync(message);
        Assert.Equal(HttpStatusCode.Accepted, mine.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, theirs.StatusCode);
        Assert.False(theirs.Headers.Contains("Idempotent-Replayed"));
        Assert.NotEqual(mine.Headers.Location, theirs.Headers.Location);
    }

    // Before: the second user got the first user's job id as a replay, could not read it (404), and had no job of his own.
    [Fact]
    public async Task KeysAreEachUsersOwnWithinATenant()
    {
        var body = new JsonObject { ["request"] = ChatRequest("per user") };
        using var mine = await SubmitAsync(body, "user-key");
        using var colleague = Factory.CreateClientFor(Tenant, "user-2", App.Application.Identity.Scopes.JobsWrite);
        using var message = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
        message.Headers.Add("Idempotency-Key", "user-key");
        using var theirs = await colleague.SendAsync(message);
        Assert.Equal(HttpStatusCode.Accepted, mine.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, theirs.StatusCode);
        Assert.False(theirs.Headers.Contains("Idempotent-Replayed"));
        Assert.NotEqual(mine.Headers.Location, theirs.Headers.Location);
        using var readable = await colleague.GetAsync(theirs.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, readable.StatusCode);
        Assert.Equal(2, await CountJobsAsync());

        // The database's backstop is per user too: with the Redis records gone, each resubmission finds its own job.
        var redis = Factory.Services.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>();
        await foreach (var key in redis.GetServers().First().KeysAsync(pattern: $"app:{{t:{Tenant}}}:idem:*"))
        {
            await redis.GetDatabase().KeyDeleteAsync(key);
        }

        using var again = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
        again.Headers.Add("Idempotency-Key", "user-key");
        using var theirsAgain = await colleague.SendAsync(again);
        Assert.Equal(theirs.Headers.Location, theirsAgain.Headers.Location);
        Assert.Equal(2, await CountJobsAsync());
    }

    // Before: the fingerprint was over the raw bytes, so the same request with other whitespace or member order was a 422.
    [Fact]
    public async Task TheSameJsonWrittenAnotherWayIsTheSameRequest()
    {
        const string Compact = """{"request":{"model":"gpt","messages":[{"role":"user","content":"caf\u00e9"}],"temperature":0.7}}""";
        const string Spaced = """
            {
              "request": { "temperature": 0.7, "messages": [ { "content": "café", "role": "user" } ], "model": "gpt" }
            }
            """;
        HttpRequestMessage Message(string json)
        {
            var message = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
            message.Headers.Add("Idempotency-Key", "canonical");
            return message;
        }

        using var first = await JobsClient().SendAsync(Message(Compact));
        using var second = await JobsClient().SendAsync(Message(Spaced));
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal("true", second.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(first.Headers.Location, second.Headers.Location);

        // The database's comparison is canonical as well (the Redis record gone, the stored job answers).
        var redis = Factory.Services.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>();
        await foreach (var key in redis.GetServers().First().KeysAsync(pattern: $"app:{{t:{Tenant}}}:idem:*"))
        {
            await redis.GetDatabase().KeyDeleteAsync(key);
        }

        using var third = await JobsClient().SendAsync(Message(Spaced));
        Assert.Equal(HttpStatusCode.Accepted, third.StatusCode);
        Assert.Equal(first.Headers.Location, third.Headers.Location);
        using var changed = await JobsClient().SendAsync(Message(Compact.Replace("0.7", "0.8", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, changed.StatusCode);
        Assert.Equal(1, await CountJobsAsync());
    }

    [Fact]
    public async Task WithoutTheRedisRecordTheDatabaseStillHoldsOneJobPerKey()
    {
        var body = new JsonObject { ["request"] = ChatRequest("backstop") };
        using var first = await SubmitAsync(body, "key-4");
        // Redis loses the record (a flush, a failover without persistence): the unique key in PostgreSQL still holds.
        var redis = Factory.Services.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>();
        var server = redis.GetServers().First();
        await foreach (var key in server.KeysAsync(pattern: $"app:{{t:{Tenant}}}:idem:*"))
        {
            await redis.GetDatabase().KeyDeleteAsync(key);
        }

        using var second = await SubmitAsync(body, "key-4");
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        using var different = await SubmitAsync(new JsonObject { ["request"] = ChatRequest("other") }, "key-4");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, different.StatusCode);
        Assert.Equal(1, await CountJobsAsync());
    }
}
