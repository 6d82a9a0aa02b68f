using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using App.Application.Identity;
using App.Infrastructure.Persistence;
using App.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace App.IntegrationTests.Chaos;

/// <summary>
/// PostgreSQL frozen (SIGSTOP to the postmaster and every backend, connections left open) for ten seconds, longer than
/// the job visibility timeout, under chat, job and trace traffic, with job workers in the test host and in a worker
/// process beside it: what needs the database answers 503 with Retry-After within seconds, never a 500 and never a
/// hang; chat goes on; the service is ready again soon after the database resumes and refuses nothing after that; no
/// model call is made twice, no accepted job and no answered call's trace is lost.
/// </summary>
public class DatabaseStallTests(ITestOutputHelper output) : GatewayTest
{
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(10);
    // A request started this long after the database resumed is served: the pool has dropped its stalled connections.
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(4);
    // Database:CommandTimeout + 2 x Database:ConnectTimeout (7 s by default), and some room.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(9);
    private IPostgresServer _postgres = null!;

    protected override async Task StartMoreServersAsync() => _postgres = await TestServers.StartPostgresAsync();

    protected override Task<TestDatabase> DatabaseAsync() => Databases.OnAsync(_postgres);

    protected override Settings Configure(Settings settings) => base.Configure(settings)
        // The production defaults, which the bound below is made of.
        .With("Database:ConnectTimeout", "00:00:02")
        .With("Database:CommandTimeout", "00:00:03")
        .With("Jobs:StreamKey", $"stall:{Guid.NewGuid():N}:jobs")
        .With("Jobs:PollInterval", "00:00:00.020")
        .With("Jobs:IdlePollInterval", "00:00:00.200")
        .With("Jobs:VisibilityTimeout", "00:00:02")
        .With("Jobs:StaleAfter", "00:00:03")
        .With("Jobs:Concurrency", "4")
        .With("Traces:FlushInterval", "00:00:00.100");

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _postgres.DisposeAsync();
    }

    private sealed class Tally
    {
        public readonly Stopwatch Clock = Stopwatch.StartNew();

        public readonly ConcurrentBag<(string What, HttpStatusCode Status, TimeSpan Took, bool RetryAfter, TimeSpan Sent)> Answers = [];

        public readonly ConcurrentBag<string> ChatPrompts = [];
        public readonly ConcurrentDictionary<string, string> JobKeys = new(StringComparer.Ordinal);
    }

    [Fact]
    public async Task AFrozenDatabaseIs503WithinSecondsAndNothingIsLostOrRunTwice()
    {
        Upstream.Behaviour.Latency = TimeSpan.FromMilliseconds(1500);
        var tally = new Tally();
        using var chat = Factory.CreateClientFor(Tenant, "chatter");
        using var jobs = Factory.CreateClientFor(Tenant, "submitter", Scopes.JobsWrite, Scopes.TracesRead);
        using var stop = new CancellationTokenSource();

        // A second process of workers: a job its workers wait on must not be taken over by the other's, nor the reverse.
        var workerSettings = Factory.Configuration();
        workerSettings["Serilog:MinimumLevel:Default"] = "Information";
        await using var workers = WorkerProcess.Start(workerSettings);
        var started = DateTime.UtcNow;
        while (!workers.Output.Contains("Job worker", StringComparison.Ordinal) && DateTime.UtcNow - started < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(100);
        }

        Assert.True(workers.Output.Contains("Job worker", StringComparison.Ordinal), "the worker process did not start:\n" + workers.Output);

        async Task TimedAsync(string what, Func<Task<HttpResponseMessage>> send)
        {
            var sent = tally.Clock.Elapsed;
            using var response = await send();
            tally.Answers.Add((what, response.StatusCode, tally.Clock.Elapsed - sent, response.Headers.RetryAfter is not null, sent));
        }

        var chatLoops = Enumerable.Range(0, 4).Select(loop => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var prompt = $"«chat-{loop}-{i}»";
                tally.ChatPrompts.Add(prompt);
                await TimedAsync("chat", () => chat.PostAsync("/v1/chat/completions", Json(Chat(prompt, temperature: 0.7))));
            }
        })).ToList();
        var traceLoop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await TimedAsync("traces", () => jobs.GetAsync("/v1/traces?limit=5"));
                await Task.Delay(200);
            }
        });
        var jobLoop = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var key = $"stall-job-{i}";
                var body = new JsonObject { ["requests"] = new JsonArray(Chat($"«job-{i}-a»", temperature: 0.7), Chat($"«job-{i}-b»", temperature: 0.7)) };
                tally.JobKeys[key] = body.ToJsonString();
                await TimedAsync("job", () => SubmitAsync(jobs, key, tally.JobKeys[key]));
                await Task.Delay(400);
            }
        });

        await Task.Delay(TimeSpan.FromSeconds(3));
        await _postgres.PauseAsync();
        try
        {
            await Task.Delay(Stall);
        }
        finally
        {
            await _postgres.ResumeAsync();
        }

        var resumed = tally.Clock.Elapsed;
        TimeSpan? ready = null;
        using (var probe = Factory.CreateClient())
        {
            while (ready is null && tally.Clock.Elapsed - resumed < TimeSpan.FromSeconds(30))
            {
                using var health = await probe.GetAsync("/health/ready");
                if (health.IsSuccessStatusCode)
                {
                    ready = tally.Clock.Elapsed - resumed;
                }
                else
                {
                    await Task.Delay(100);
                }
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, 6 - (tally.Clock.Elapsed - resumed).TotalSeconds)));
        await stop.CancelAsync();
        await Task.WhenAll([.. chatLoops, traceLoop, jobLoop]);

        // A client retries what was refused with its Retry-After, under the same key: every submission gets its job.
        var ids = new Dictionary<string, Guid>(StringComparer.Ordinal);
        foreach (var (key, body) in tally.JobKeys)
        {
            using var response = await SubmitAsync(jobs, key, body);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            ids[key] = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
        }

        var data = Factory.Services.GetRequiredService<TenantData>();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        List<string> statuses;
        do
        {
            await Task.Delay(250);
            statuses = await data.ReadAsync(Tenant, db => db.Jobs.Select(j => j.Status).ToListAsync(), default);
        }
        while (statuses.Any(s => s is not ("succeeded" or "failed" or "dead_lettered")) && DateTime.UtcNow < deadline);

        var answeredChats = tally.Answers.Count(a => a.What == "chat" && a.Status == HttpStatusCode.OK);
        var traced = 0;
        for (var i = 0; i < 120 && traced < answeredChats; i++)
        {
            traced = await data.ReadAsync(Tenant, db => db.Traces.CountAsync(t => t.UserId == "chatter"), default);
            await Task.Delay(250);
        }

        var received = Upstream.Received.Select(r => r.Body).ToList();
        var prompts = tally.ChatPrompts.Concat(tally.JobKeys.Keys.SelectMany(k => new[] { $"«job-{k[10..]}-a»", $"«job-{k[10..]}-b»" })).ToList();
        var twice = prompts.Where(p => received.Count(b => b.Contains(p, StringComparison.Ordinal)) > 1).ToList();
        var errors = tally.Answers.Where(a => (int)a.Status >= 500 && a.Status != HttpStatusCode.ServiceUnavailable).ToList();
        var unavailable = tally.Answers.Where(a => a.Status == HttpStatusCode.ServiceUnavailable).ToList();
        var slowest = tally.Answers.MaxBy(a => a.Took);
        var lateRefusals = unavailable.Where(a => a.Sent - resumed > Recovery).ToList();
        output.WriteLine(
            $"figures: requests {tally.Answers.Count}, 200/202 {tally.Answers.Count(a => (int)a.Status < 300)}, 503 {unavailable.Count} (all with Retry-After: {unavailable.All(a => a.RetryAfter)}), " +
            $"other errors {tally.Answers.Count(a => (int)a.Status >= 400 && a.Status != HttpStatusCode.ServiceUnavailable)}, ready {ready?.TotalSeconds:F1} s after resume, " +
            $"lost traces {answeredChats - traced}, lost jobs {ids.Count - statuses.Count}");
        output.WriteLine(
            $"requests {tally.Answers.Count} (chat {tally.Answers.Count(a => a.What == "chat")}, jobs {tally.Answers.Count(a => a.What == "job")}, trace reads {tally.Answers.Count(a => a.What == "traces")}); " +
            $"503 {unavailable.Count}; other 5xx {errors.Count}; slowest {slowest.Took.TotalSeconds:F1} s ({slowest.What} {(int)slowest.Status}); duplicate model calls {twice.Count}; " +
            $"503 after {string.Join(", ", unavailable.Select(a => $"{a.What} {a.Took.TotalSeconds:F1} s"))}; " +
            $"jobs {statuses.Count} of {ids.Count}, unfinished {statuses.Count(s => s is not ("succeeded" or "failed" or "dead_lettered"))}, not succeeded {statuses.Count(s => s != "succeeded")}; traces {traced} of {answeredChats} answered chats");

        Assert.Empty(errors);
        Assert.All(tally.Answers, a => Assert.True((int)a.Status < 400 || a.Status == HttpStatusCode.ServiceUnavailable, $"{a.What} answered {(int)a.Status}"));
        Assert.True(ready < Recovery, $"ready {ready?.TotalSeconds:F1} s after the database resumed");
        Assert.Empty(lateRefusals);
        Assert.All(unavailable, a => Assert.True(a.RetryAfter, $"{a.What} 503 without Retry-After"));
        Assert.True(slowest.Took < Bound, $"a request took {slowest.Took.TotalSeconds:F1} s");
        Assert.NotEmpty(unavailable);
        Assert.All(tally.Answers.Where(a => a.What == "chat"), a => Assert.Equal(HttpStatusCode.OK, a.Status));
        Assert.Empty(twice);
        Assert.Equal(ids.Count, statuses.Count);
        Assert.All(statuses, s => Assert.Equal("succeeded", s));
        Assert.Equal(answeredChats, traced);
    }

    private static StringContent Json(JsonObject body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    private static Task<HttpResponseMessage> SubmitAsync(HttpClient client, string key, string body)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        message.Headers.Add("Idempotency-Key", key);
        return client.SendAsync(message);
    }
}
