using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using App.Application.Jobs;
using App.FakeUpstream;
using App.Infrastructure.Jobs;
using App.Testing;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace App.IntegrationTests.Jobs;

public class JobTests : JobTestBase
{
    protected override Settings Configure(Settings settings) => base.Configure(settings)
        .Route("flaky", Deployment.OpenAi(Upstream.BaseUrl, "flaky-model").With("MaxRetries", "0").With("BreakerMinimumThroughput", "1000"));

    [Fact]
    public async Task AJobIsAcceptedAtOnceAndCompletesWithTheAnswer()
    {
        var id = await SubmitOkAsync(new JsonObject { ["request"] = ChatRequest("a job") });
        var job = await WaitForFinalAsync(id, TimeSpan.FromSeconds(20));
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        Assert.Equal(1, job.GetProperty("attempts").GetInt32());
        var result = Assert.Single(job.GetProperty("results").EnumerateArray());
        Assert.Equal("ok", result.GetProperty("status").GetString());
        await Contracts.AssertValidAsync(Contracts.Response, result.GetProperty("response").GetRawText(), "job result");
        Assert.Equal(1, Upstream.Requests);
    }

    [Fact]
    public async Task ABatchKeepsOneResultPerRequestInOrderWithRefusalsInTheirSlot()
    {
        var id = await SubmitOkAsync(new JsonObject
        {
            ["requests"] = new JsonArray(ChatRequest("first"), ChatRequest("second", model: "no-such-model"), ChatRequest("third")),
        });
        var job = await WaitForFinalAsync(id, TimeSpan.FromSeconds(20));
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        var results = job.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2], results.Select(r => r.GetProperty("index").GetInt32()));
        Assert.Equal(["ok", "error", "ok"], results.Select(r => r.GetProperty("status").GetString()));
        Assert.Equal("model_not_found", results[1].GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(3, job.GetProperty("progress").GetProperty("done").GetInt32());
        Assert.Equal(2, Upstream.Requests);
    }

    [Fact]
    public async Task InvalidSubmissionsAreRefusedNamingTheField()
    {
        using var streaming = await SubmitAsync(new JsonObject { ["request"] = Chat("x", stream: true) }, "k-stream");
        Assert.Equal(HttpStatusCode.BadRequest, streaming.StatusCode);
        Assert.Equal("request.stream", (await ReadAsync(streaming)).GetProperty("error").GetProperty("param").GetString());

        var bad = ChatRequest("x");
        bad["temperature"] = 7;
        using var range = await SubmitAsync(new JsonObject { ["requests"] = new JsonArray(ChatRequest("ok"), bad) }, "k-range");
        Assert.Equal(HttpStatusCode.BadRequest, range.StatusCode);
        Assert.Equal("requests[1].temperature", (await ReadAsync(range)).GetProperty("error").GetProperty("param").GetString());

        using var neither = await SubmitAsync(new JsonObject(), "k-neither");
        Assert.Equal(HttpStatusCode.BadRequest, neither.StatusCode);

        using var unknown = await SubmitAsync(new JsonObject { ["request"] = ChatRequest("x"), ["priority"] = 1 }, "k-unknown");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal("unknown_parameter", (await ReadAsync(unknown)).GetProperty("error").GetProperty("code").GetString());

        Assert.Equal(0, await CountJobsAsync());
    }

    [Fact]
    public async Task ATransientFailureIsRetriedWithBackoff()
    {
        Upstream.Enqueue(Fault.Error(503), Fault.Error(503));
        var id = await SubmitOkAsync(new JsonObject { ["request"] = ChatRequest("retry me", model: "flaky") });
        var job = await WaitForFinalAsync(id, TimeSpan.FromSeconds(20));
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        Assert.Equal(3, job.GetProperty("attempts").GetInt32());
        Assert.Equal(3, Upstream.Requests);
    }

    [Fact]
    public async Task AJobThatKeepsFailingIsDeadLettered()
    {
        Upstream.Default = Fault.Error(503);
        var id = await SubmitOkAsync(new JsonObject { ["request"] = ChatRequest("never works", model: "flaky") });
        var job = await WaitForFinalAsync(id, TimeSpan.FromSeconds(20));
        Assert.Equal("dead_lettered", job.GetProperty("status").GetString());
        Assert.Equal(3, job.GetProperty("attempts").GetInt32());
        Assert.Contains("Gave up after 3 attempts", job.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.False(job.TryGetProperty("results", out _));

        // PostgreSQL's status is the record; the feed entry follows it, with the message's acknowledgement, once.
        var redis = Factory.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        var stream = Factory.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<JobOptions>>().Value.StreamKey;
        var dead = await redis.StreamRangeAsync(stream + ":dead");
        for (var i = 0; i < 100 && !dead.Any(e => e["job"] == id.ToString("N")); i++)
        {
            await Task.Delay(50);
            dead = await redis.StreamRangeAsync(stream + ":dead");
        }

        Assert.Single(dead, e => e["job"] == id.ToString("N"));
    }

    [Fact]
    public async Task ADuplicateDeliveryOfAFinishedJobChangesNothing()
    {
        var id = await SubmitOkAsync(new JsonObject { ["request"] = ChatRequest("once") });
        var done = await WaitForFinalAsync(id, TimeSpan.FromSeconds(20));

        // The same message again, as a reclaim racing a slow worker or a sweeper would produce it.
        await Factory.Services.GetRequiredService<JobDelivery>().EnqueueAsync(new JobRef(Tenant, id));
        var store = Factory.Services.GetRequiredService<JobStore>();
        for (var i = 0; i < 100 && (await store.FindAsync(new JobRef(Tenant, id), default))!.DuplicateDeliveries == 0; i++)
        {
            await Task.Delay(50);
        }

        var after = await GetJobAsync(id);
        Assert.Equal(1, (await store.FindAsync(new JobRef(Tenant, id), default))!.DuplicateDeliveries);
        Assert.Equal(done.GetProperty("completed_at").GetDateTimeOffset(), after.GetProperty("completed_at").GetDateTimeOffset());
        Assert.Equal(done.GetProperty("results").GetRawText(), after.GetProperty("results").GetRawText());
        Assert.Equal(1, after.GetProperty("attempts").GetInt32());
        Assert.Equal(1, Upstream.Requests);
    }

    [Fact]
    public async Task EnqueueingWakesTheIdleWorkersOfThisProcessAtOnce()
    {
        // Idle workers back off up to Jobs:IdlePollInterval; a job enqueued here must not wait for that.
        var id = await SubmitOkAsync(new JsonObject { ["request"] = ChatRequest("wake up") });
        await WaitForFinalAsync(id, TimeSpan.FromSeconds(20));
        var delivery = Factory.Services.GetRequiredService<JobDelivery>();
        var arrival = delivery.Arrival;
        Assert.False(arrival.IsCompleted);

        await delivery.EnqueueAsync(new JobRef(Tenant, id));

        Assert.True(arrival.IsCompletedSuccessfully);
        Assert.False(delivery.Arrival.IsCompleted);
    }

    [Fact]
    public async Task AJobWhoseMessageWasLostIsEnqueuedAgainFromPostgres()
    {
        // Stored but never enqueued: what a submission during a Redis outage (or a Redis that lost its data) leaves.
        var store = Factory.Services.GetRequiredService<JobStore>();
        var id = Guid.CreateVersion7();
        var now = DateTimeOffset.UtcNow;
        var requests = new List<App.Application.OpenAi.ChatCompletionRequest>
        {
            JsonSerializer.Deserialize(ChatRequest("lost message").ToJsonString(), App.Application.OpenAi.OpenAiJson.Wire.ChatCompletionRequest)!,
        };
        await store.CreateAsync(
            new Job
            {
                Id = id,
                TenantId = Tenant,
                UserId = "user-1",
                Status = JobStatus.Queued,
                Model = "gpt",
                ItemCount = 1,
                MaxAttempts = 3,
                RequestHash = new byte[32],
                RequestCiphertext = store.EncryptRequests(Tenant, id, requests),
                CreatedAt = now,
                UpdatedAt = now,
            },
            default);

        var job = await WaitForFinalAsync(id, TimeSpan.FromSeconds(20));
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
    }

    [Fact]
    public async Task EventsStreamProgressAndEndWithTheFinishedJob()
    {
        Upstream.Behaviour.Latency = TimeSpan.FromMilliseconds(200);
        var id = await SubmitOkAsync(new JsonObject { ["requests"] = new JsonArray(ChatRequest("e1"), ChatRequest("e2"), ChatRequest("e3")) });
        using var response = await JobsClient().GetAsync($"/v1/jobs/{id}/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await Sse.ReadAllAsync(response);
        Assert.Equal("done", events[^1].Event);
        var statuses = events.Where(e => e.Event == "status").Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();
        Assert.NotEmpty(statuses);
        Assert.Contains(statuses, s => s.GetProperty("status").GetString() == "running");
        var done = JsonDocument.Parse(events[^1].Data).RootElement;
        Assert.Equal("succeeded", done.GetProperty("status").GetString());
        Assert.Equal(3, done.GetProperty("results").GetArrayLength());
    }

    [Fact]
    public async Task AnotherUsersOrTenantsJobIsNotFound()
    {
        var id = await SubmitOkAsync(new JsonObject { ["request"] = ChatRequest("mine") });
        using var colleague = Factory.CreateClientFor(Tenant, "user-2", App.Application.Identity.Scopes.JobsWrite);
        using var stranger = Factory.CreateClientFor("other-" + Tenant, "user-1", App.Application.Identity.Scopes.JobsWrite);
        Assert.Equal(HttpStatusCode.NotFound, (await colleague.GetAsync($"/v1/jobs/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"/v1/jobs/{id}")).StatusCode);
        using var chatOnly = Factory.CreateClientFor(Tenant, "user-1", App.Application.Identity.Scopes.ChatInvoke);
        Assert.Equal(HttpStatusCode.Forbidden, (await chatOnly.GetAsync($"/v1/jobs/{id}")).StatusCode);
    }
}
