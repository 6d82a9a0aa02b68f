using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using App.Application.Identity;
using App.Application.Jobs;
using App.FakeUpstream;
using App.Infrastructure.Jobs;
using App.Infrastructure.Persistence;
using App.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace App.IntegrationTests.Chaos;

/// <summary>
/// A few hundred synthetic users against the app while things break: the provider times out, answers 429 and
/// 500, sends malformed JSON, runs out of tokens (finish_reason length); Redis is restarted empty mid-run; a
/// worker process is killed with SIGKILL. Bounded in users and time, loopback only.
/// </summary>
public class ChaosRunTests(ITestOutputHelper output) : GatewayTest
{
    private const int Users = 300;
    private const int Parallel = 48;
    private static readonly TimeSpan RunBudget = TimeSpan.FromSeconds(90);
    private readonly string _chatTenant = "chaos-chat-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _jobTenant = "chaos-jobs-" + Guid.NewGuid().ToString("N")[..8];

    protected override bool OwnRedis => true;

    protected override Settings Configure(Settings settings) => settings
        .Route(
            "gpt",
            Deployment.OpenAi(Upstream.BaseUrl, "flaky")
                .With("AttemptTimeout", "00:00:00.400")
                .With("TotalTimeout", "00:00:03")
                .With("MaxRetries", "2")
                .With("RetryBaseDelay", "00:00:00.010")
                .With("MaxRetryAfter", "00:00:00.200")
                .With("BreakerMinimumThroughput", "100000"),
            Deployment.Offline("fallback"))
        .With("Jobs:StreamKey", $"chaos:{Guid.NewGuid():N}:jobs")
        .With("Jobs:PollInterval", "00:00:00.020")
        .With("Jobs:IdlePollInterval", "00:00:00.200")
        .With("Jobs:RetryBaseDelay", "00:00:00.200")
        .With("Jobs:RetryMaxDelay", "00:00:00.500")
        .With("Jobs:VisibilityTimeout", "00:00:02")
        .With("Jobs:StaleAfter", "00:00:03")
        .With("Jobs:Concurrency", "4");

    private sealed class Tally
    {
        public int ChatRequests;
        public int ChatErrors;
        public int Length;
        public int JobSubmissions;
        public int JobErrors;
        public readonly ConcurrentDictionary<Guid, int> Jobs = new();
        public readonly ConcurrentQueue<string> Errors = new();

        public void Error(string what)
        {
            if (Errors.Count < 20)
            {
                Errors.Enqueue(what);
            }
        }
    }

    [Fact]
    public async Task UnderInjectedFaultsErrorsStayUnderHalfAPercentNoJobIsLostOrDoneTwiceAndEveryCallIsTraced()
    {
        // The provider: a quarter of calls fail in one of the ways providers do, some stop at the token limit.
        var random = new Random(20261127);
        Upstream.Chaos = () =>
        {
            int roll;
            lock (random)
            {
                roll = random.Next(100);
            }

            return roll switch
            {
                < 6 => new Fault(FaultKind.Hang),
                < 12 => Fault.Error(429, retryAfter: "0"),
                < 17 => Fault.Error(500),
                < 21 => new Fault(FaultKind.Malformed),
                < 26 => new Fault(FaultKind.Length),
                _ => Fault.Ok(TimeSpan.FromMilliseconds(roll % 10)),
            };
        };

        var settings = Factory.Configuration();
        await using var worker = WorkerProcess.Start(settings);
        var tally = new Tally();
        using var stop = new CancellationTokenSource(RunBudget);
        using var gate = new SemaphoreSlim(Parallel);
        var started = 0;
        var redisRestarted = false;
        var workerKilled = false;
        var users = Enumerable.Range(0, Users).Select(async i =>
        {
            await gate.WaitAsync(stop.Token);
            try
            {
                var n = Interlocked.Increment(ref started);
                if (n == Users * 3 / 10 && !redisRestarted)
                {
                    redisRestarted = true;
                    _ = RestartRedisAsync();
                }

                if (n == Users / 2 && !workerKilled)
                {
                    workerKilled = true;
                    _ = worker.KillAsync();
                }

                await UserAsync(i, tally, stop.Token);
            }
            finally
            {
                gate.Release();
            }
        }).ToList();
        await Task.WhenAll(users);
        Assert.True(redisRestarted && workerKilled, "the run ended before both faults were injected");

        var requests = tally.ChatRequests + tally.JobSubmissions;
        var errors = tally.ChatErrors + tally.JobErrors;
        var errorRate = (double)errors / requests;
        output.WriteLine($"users {Users}, chat requests {tally.ChatRequests} (errors {tally.ChatErrors}, finish_reason length {tally.Length}), job submissions {tally.JobSubmissions} (errors {tally.JobErrors}), error rate {errorRate:P2}, upstream requests {Upstream.Requests}");
        foreach (var e in tally.Errors)
        {
            output.WriteLine("  " + e);
        }

        Assert.True(errorRate < 0.005, $"error rate {errorRate:P2}: {string.Join(" | ", tally.Errors)}");
        Assert.True(tally.Length > 0, "token exhaustion was injected and must reach clients as finish_reason length");

        // Jobs: every accepted job finishes, once; a resubmission with the same key never made a second job.
        var store = Factory.Services.GetRequiredService<JobStore>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var unfinished = tally.Jobs.Keys.ToList();
        while (unfinished.Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            var still = new List<Guid>();
            foreach (var id in unfinished)
            {
                var job = await store.FindAsync(new JobRef(_jobTenant, id), default);
                if (job is null || !JobStatus.IsFinal(job.Status))
                {
                    still.Add(id);
                }
            }

            unfinished = still;
        }

        Assert.True(unfinished.Count == 0, $"{unfinished.Count} accepted jobs never finished; worker output:\n{worker.Output[^Math.Min(2000, worker.Output.Length)..]}");
        var data = Factory.Services.GetRequiredService<TenantData>();
        var jobs = await data.ReadAsync(_jobTenant, db => db.Jobs.AsNoTracking().ToListAsync(), default);
        Assert.Equal(tally.Jobs.Count, jobs.Count);
        Assert.All(jobs, j =>
        {
            Assert.Equal(JobStatus.Succeeded, j.Status);
            Assert.Equal(j.ItemCount, store.DecryptResults(j)!.Count);
            Assert.NotNull(j.CompletedAt);
        });
        output.WriteLine($"jobs {jobs.Count}: attempts {jobs.Sum(j => j.Attempts)}, duplicate deliveries detected and ignored {jobs.Sum(j => j.DuplicateDeliveries)}");

        // Every chat call left a trace (errors and refusals too); every job request at least one.
        var traced = await WaitForTracesAsync(data, _chatTenant, tally.ChatRequests);
        Assert.Equal(tally.ChatRequests, traced);
        var jobTraces = await WaitForTracesAsync(data, _jobTenant, jobs.Sum(j => j.ItemCount));
        Assert.True(jobTraces >= jobs.Sum(j => j.ItemCount));
    }

    private async Task UserAsync(int i, Tally tally, CancellationToken cancellationToken)
    {
        using var client = Factory.CreateClientFor(_chatTenant, $"user-{i}", Scopes.ChatInvoke);
        await ChatAsync(client, Chat($"user {i} asks a question", temperature: 0.7), stream: false, tally, cancellationToken);
        await ChatAsync(client, Chat($"user {i} streams an answer", temperature: 0.7, stream: true, includeUsage: true), stream: true, tally, cancellationToken);
        await ChatAsync(client, Chat($"a popular question {i % 10}", temperature: 0), stream: false, tally, cancellationToken);
        if (i % 3 == 0)
        {
            using var jobs = Factory.CreateClientFor(_jobTenant, $"user-{i}", Scopes.JobsWrite);
            var body = new JsonObject { ["requests"] = new JsonArray(Chat($"job {i} a", temperature: 0.7), Chat($"job {i} b", temperature: 0.7)) };
            var key = $"chaos-{i}";
            await SubmitAsync(jobs, body, key, tally, cancellationToken);
            // A client that did not see the answer submits again with the same key: same job, not a second one.
            await SubmitAsync(jobs, body, key, tally, cancellationToken);
        }
    }

    private static async Task ChatAsync(HttpClient client, JsonObject body, bool stream, Tally tally, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref tally.ChatRequests);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                Interlocked.Increment(ref tally.ChatErrors);
                tally.Error($"chat {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
                return;
            }

            string? finish;
            if (stream)
            {
                var result = await ReadStreamAsync(response);
                if (!result.Done || result.Error is not null)
                {
                    Interlocked.Increment(ref tally.ChatErrors);
                    tally.Error($"stream: done {result.Done}, error {result.Error}");
                    return;
                }

                finish = result.FinishReason;
            }
            else
            {
                finish = (await ReadAsync(response)).GetProperty("choices")[0].GetProperty("finish_reason").GetString();
            }

            if (finish == "length")
            {
                Interlocked.Increment(ref tally.Length);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or JsonException)
        {
            Interlocked.Increment(ref tally.ChatErrors);
            tally.Error($"chat {ex.GetType().Name}: {ex.Message}");
        }
    }

    private static async Task SubmitAsync(HttpClient client, JsonObject body, string key, Tally tally, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref tally.JobSubmissions);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", key);
        using var response = await client.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.Conflict)
        {
            // The first submission with this key is still being stored: the documented answer, retried as advised.
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            Interlocked.Decrement(ref tally.JobSubmissions);
            await SubmitAsync(client, body, key, tally, cancellationToken);
            return;
        }

        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            Interlocked.Increment(ref tally.JobErrors);
            tally.Error($"job {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
            return;
        }

        var id = (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetGuid();
        tally.Jobs.AddOrUpdate(id, 1, (_, n) => n + 1);
    }

    private async Task RestartRedisAsync()
    {
        await Redis.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await Redis.StartAsync();
    }

    private static async Task<int> WaitForTracesAsync(TenantData data, string tenant, int expected)
    {
        var count = 0;
        for (var attempt = 0; attempt < 100; attempt++)
        {
            count = await data.ReadAsync(tenant, db => db.Traces.CountAsync(), default);
            if (count >= expected)
            {
                return count;
            }

            await Task.Delay(100);
        }

        return count;
    }
}
