using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using App.Application.Identity;
using App.Infrastructure.Persistence;
using App.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace App.IntegrationTests.Jobs;

/// <summary>Jobs against the real Redis stream and PostgreSQL, with the workers running in the test host.</summary>
public abstract class JobTestBase : GatewayTest
{
    protected HttpClient Jobs { get; private set; } = null!;

    /// <summary>
    /// A database per test class: these tests leave jobs running or lost on purpose, with workers that sweep stale
    /// jobs every few seconds; sharing a database, one class's workers took over another's job (and called their own
    /// upstream with it).
    /// </summary>
    protected override Task<TestDatabase> DatabaseAsync() => Databases.OwnAsync(GetType().FullName!);

    protected override Settings Configure(Settings settings) => base.Configure(settings)
        .With("Jobs:StreamKey", $"test:{Guid.NewGuid():N}:jobs")
        .With("Jobs:PollInterval", "00:00:00.020")
        .With("Jobs:IdlePollInterval", "00:00:00.200")
        .With("Jobs:EventsInterval", "00:00:00.050")
        .With("Jobs:RetryBaseDelay", "00:00:00.200")
        .With("Jobs:RetryMaxDelay", "00:00:00.500")
        .With("Jobs:VisibilityTimeout", "00:00:02")
        .With("Jobs:StaleAfter", "00:00:03")
        .With("Jobs:Concurrency", "2");

    /// <summary>The jobs stored for this test's tenant (read under row-level security, as the app reads them).</summary>
    protected async Task<int> CountJobsAsync() =>
        await Factory.Services.GetRequiredService<TenantData>().ReadAsync(Tenant, db => db.Jobs.CountAsync(), default);

    protected HttpClient JobsClient()
    {
        Jobs ??= Factory.CreateClientFor(Tenant, "user-1", Scopes.JobsWrite, Scopes.ChatInvoke);
        return Jobs;
    }

    public override async Task DisposeAsync()
    {
        Jobs?.Dispose();
        await base.DisposeAsync();
    }

    protected static JsonObject ChatRequest(string prompt, string model = "gpt", int? maxTokens = null)
    {
        var request = Chat(prompt, model, temperature: 0.7);
        if (maxTokens is not null)
        {
            request["max_tokens"] = maxTokens;
        }

        return request;
    }

    protected async Task<HttpResponseMessage> SubmitAsync(JsonObject body, string? key)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (key is not null)
        {
            message.Headers.Add("Idempotency-Key", key);
        }

        return await JobsClient().SendAsync(message);
    }

    protected async Task<Guid> SubmitOkAsync(JsonObject body)
    {
        using var response = await SubmitAsync(body, Guid.NewGuid().ToString());
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal($"/v1/jobs/{job.GetProperty("id").GetGuid()}", response.Headers.Location?.OriginalString);
        return job.GetProperty("id").GetGuid();
    }

    protected async Task<JsonElement> GetJobAsync(Guid id)
    {
        var json = await JobsClient().GetStringAsync($"/v1/jobs/{id}");
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    protected async Task<JsonElement> WaitForFinalAsync(Guid id, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var job = await GetJobAsync(id);
            var status = job.GetProperty("status").GetString();
            if (status is "succeeded" or "failed" or "dead_lettered")
            {
                return job;
            }

            Assert.True(DateTime.UtcNow < deadline, $"job {id} still {status} after {timeout}");
            await Task.Delay(50);
        }
    }
}
