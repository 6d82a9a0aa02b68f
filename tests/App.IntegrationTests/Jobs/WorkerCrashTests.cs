using System.Text.Json.Nodes;
using App.Application.Jobs;
using App.FakeUpstream;
using App.Infrastructure.Jobs;
using App.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace App.IntegrationTests.Jobs;

/// <summary>
/// Workers as separate processes of the service binary (<c>App.Api worker</c>); the API in the test host runs none.
/// A worker killed with SIGKILL in the middle of a job leaves it running with its message pending; another worker
/// takes it over and the job completes once.
/// </summary>
public class WorkerCrashTests : JobTestBase
{
    // The takeover under test is the consumer group's (a pending message claimed after Jobs:VisibilityTimeout). With the
    // base's Jobs:StaleAfter of 3 s, a second worker slow to start also finds the job stale and enqueues a copy, which
    // is then counted as a duplicate delivery, as designed: the count would depend on how fast a process starts.
    protected override Settings Configure(Settings settings) => base.Configure(settings)
        .With("Jobs:RunWorkers", "false")
        .With("Jobs:StaleAfter", "00:01:00");

    [Fact]
    public async Task AJobWhoseWorkerIsKilledMidCallCompletesExactlyOnceElsewhere()
    {
        Upstream.Behaviour.Latency = TimeSpan.FromSeconds(30);
        var id = await SubmitOkAsync(new JsonObject { ["request"] = ChatRequest("survive a crash") });
        var settings = Factory.Configuration();
        settings["Serilog:MinimumLevel:Default"] = "Information";

        await using var first = WorkerProcess.Start(settings);
        var store = Factory.Services.GetRequiredService<JobStore>();
        var job = new JobRef(Tenant, id);
        string? seen = null;
        await WaitUntilAsync(
            async () =>
            {
                var stored = (await store.FindAsync(job, default))!;
                seen = $"job {stored.Status}, attempts {stored.Attempts}, worker {stored.Worker ?? "none"}; upstream {Upstream.InFlight} in flight, {Upstream.Requests} received";
                return stored.Status == JobStatus.Running && Upstream.InFlight == 1;
            },
            TimeSpan.FromSeconds(60),
            () => seen + "\n" + first.Output);
        var running = (await store.FindAsync(job, default))!;
        Assert.Equal(1, running.Attempts);

        await first.KillAsync();
        Upstream.Behaviour.Latency = TimeSpan.Zero;
        Assert.Equal(JobStatus.Running, (await store.FindAsync(job, default))!.Status);

        await using var second = WorkerProcess.Start(settings);
        var done = await WaitForFinalAsync(id, TimeSpan.FromSeconds(60));
        Assert.True(done.GetProperty("status").GetString() == "succeeded", second.Output);
        Assert.Equal(2, done.GetProperty("attempts").GetInt32());
        var result = Assert.Single(done.GetProperty("results").EnumerateArray());
        Assert.Equal("ok", result.GetProperty("status").GetString());

        var final = (await store.FindAsync(job, default))!;
        Assert.Equal(0, final.DuplicateDeliveries);
        Assert.NotEqual(running.Worker, final.Worker);
        Assert.True(Upstream.Requests == 2, $"upstream requests {Upstream.Requests}, expected 2; the job was finished by worker {final.Worker}; the second worker said:\n{second.Output}");

        // Nothing is left pending in the consumer group: the taken-over message was acknowledged. A worker acks
        // after the job's completion is stored (at-least-once), so the ack may trail the status read above.
        var stream = Factory.Services.GetRequiredService<IOptions<JobOptions>>().Value.StreamKey;
        var redis = Factory.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        var pending = await redis.StreamPendingAsync(stream, JobDelivery.Group);
        for (var i = 0; i < 100 && pending.PendingMessageCount > 0; i++)
        {
            await Task.Delay(100);
            pending = await redis.StreamPendingAsync(stream, JobDelivery.Group);
        }

        Assert.Equal(0, pending.PendingMessageCount);
    }

    // Before: a new run started from the first request again, so the two answered before the crash were sent (and
    // billed) twice: 6 upstream requests. Now the second run goes on after the results the first kept.
    [Fact]
    public async Task AJobWhoseWorkerIsKilledGoesOnAfterTheAnswersItKept()
    {
        Upstream.Enqueue(Fault.Ok(), Fault.Ok(), Fault.Ok(TimeSpan.FromSeconds(30)));
        var id = await SubmitOkAsync(new JsonObject { ["requests"] = new JsonArray(ChatRequest("one"), ChatRequest("two"), ChatRequest("three")) });
        var settings = Factory.Configuration();
        await using var first = WorkerProcess.Start(settings);
        var store = Factory.Services.GetRequiredService<JobStore>();
        var job = new JobRef(Tenant, id);
        await WaitUntilAsync(
            async () => (await store.FindAsync(job, default))!.ItemsDone == 2 && Upstream.InFlight == 1,
            TimeSpan.FromSeconds(60),
            () => first.Output);
        await first.KillAsync();

        await using var second = WorkerProcess.Start(settings);
        var done = await WaitForFinalAsync(id, TimeSpan.FromSeconds(60));
        Assert.True(done.GetProperty("status").GetString() == "succeeded", second.Output);
        Assert.Equal(["ok", "ok", "ok"], done.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("status").GetString()));
        Assert.Equal([0, 1, 2], done.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("index").GetInt32()));
        Assert.True(Upstream.Requests == 4, $"upstream requests {Upstream.Requests}, expected 4 (three, then the one cut short); the second worker said:\n{second.Output}");
    }

    // A worker that dies between PostgreSQL's dead-letter record and the feed leaves its message pending: whoever takes
    // it over writes the feed entry, and a later copy of the message does not write it again.
    [Fact]
    public async Task ADeadLetterWhoseWorkerDiedBeforeTheFeedReachesTheFeedOnce()
    {
        var id = await SubmitOkAsync(new JsonObject { ["request"] = ChatRequest("dies at the end") });
        var job = new JobRef(Tenant, id);
        var store = Factory.Services.GetRequiredService<JobStore>();
        var delivery = Factory.Services.GetRequiredService<JobDelivery>();
        await delivery.EnsureGroupAsync();
        var message = Assert.Single(await delivery.ReadAsync("worker-that-died", 1));
        Assert.Equal(job, message.Job);
        Assert.True(await store.StartRunAsync(job, "worker-that-died", default));
        Assert.True(await store.DeadLetterAsync(job, "upstream_error", "Gave up after 3 attempts: planted", default));

        var stream = Factory.Services.GetRequiredService<IOptions<JobOptions>>().Value.StreamKey;
        var redis = Factory.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        Assert.Empty(await redis.StreamRangeAsync(stream + ":dead"));

        await using var worker = WorkerProcess.Start(Factory.Configuration());
        await WaitUntilAsync(
            async () => (await redis.StreamPendingAsync(stream, JobDelivery.Group)).PendingMessageCount == 0,
            TimeSpan.FromSeconds(30),
            () => worker.Output);
        await delivery.EnqueueAsync(job);
        await WaitUntilAsync(
            async () => (await redis.StreamInfoAsync(stream)).Length == 0 && (await redis.StreamPendingAsync(stream, JobDelivery.Group)).PendingMessageCount == 0,
            TimeSpan.FromSeconds(30),
            () => worker.Output);

        var dead = await redis.StreamRangeAsync(stream + ":dead");
        var entry = Assert.Single(dead);
        Assert.Equal(id.ToString("N"), (string?)entry["job"]);
        Assert.Equal(JobStatus.DeadLettered, (await store.FindAsync(job, default))!.Status);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> diagnostics)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out; worker output:\n" + diagnostics());
            await Task.Delay(50);
        }
    }
}
