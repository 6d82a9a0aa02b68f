using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using App.Application.Identity;
using App.FakeUpstream;
using App.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace App.IntegrationTests.Jobs;

/// <summary>An erasure of the tenant's content clears its jobs' requests and results, and stops the unfinished ones.</summary>
public class JobErasureTests : JobTestBase
{
    [Fact]
    public async Task FinishedJobsLoseTheirContentAndARunningJobFailsAsErased()
    {
        var finished = await SubmitOkAsync(new JsonObject { ["request"] = ChatRequest("finished before the erasure") });
        Assert.Equal("succeeded", (await WaitForFinalAsync(finished, TimeSpan.FromSeconds(20))).GetProperty("status").GetString());

        // The next job's first model call takes far longer than the test: it is running when the erasure comes.
        Upstream.Default = Fault.Ok(TimeSpan.FromSeconds(30));
        var running = await SubmitOkAsync(new JsonObject
        {
            ["requests"] = new JsonArray(ChatRequest("running during the erasure"), ChatRequest("never to be sent")),
        });
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await GetJobAsync(running)).GetProperty("status").GetString() != "running")
        {
            Assert.True(DateTime.UtcNow < deadline, "the second job never started");
            await Task.Delay(50);
        }

        using var erase = await Factory.CreateClientFor(Tenant, "boss", Scopes.Admin).DeleteAsync("/admin/content");
        Assert.Equal(HttpStatusCode.OK, erase.StatusCode);
        var record = JsonDocument.Parse(await erase.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(2, record.GetProperty("jobs_erased").GetInt32());

        var done = await GetJobAsync(finished);
        Assert.Equal("succeeded", done.GetProperty("status").GetString());
        Assert.False(done.TryGetProperty("results", out _), "a finished job still answers its results after the erasure");
        var stopped = await GetJobAsync(running);
        Assert.Equal("failed", stopped.GetProperty("status").GetString());
        Assert.Equal("content_erased", stopped.GetProperty("error").GetProperty("type").GetString());

        // Its worker stops: the call in flight is abandoned and the next request is never sent.
        await Upstream.WaitForAsync(u => u.Aborted == 1, TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(2, Upstream.Requests);

        var stored = await Factory.Services.GetRequiredService<TenantData>().ReadAsync(Tenant,
            db => db.Jobs.Select(j => new { j.RequestCiphertext, j.ResultCiphertext }).ToListAsync(), default);
        Assert.Equal(2, stored.Count);
        Assert.All(stored, j =>
        {
            Assert.Empty(j.RequestCiphertext);
            Assert.Null(j.ResultCiphertext);
        });
    }
}
