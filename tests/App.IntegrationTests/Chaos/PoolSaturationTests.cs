using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using App.Application.Identity;
using App.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace App.IntegrationTests.Chaos;

/// <summary>
/// Every connection of the pool busy: a request that needs the database waits at most <c>Database:ConnectTimeout</c>
/// for one and is then a 503 with Retry-After, while chat goes on and its trace waits in the writer's queue until a
/// connection is free again.
/// </summary>
public class PoolSaturationTests : GatewayTest
{
    protected override Settings Configure(Settings settings) => base.Configure(settings)
        .With("Database:MaxPoolSize", "2")
        .With("Database:ConnectTimeout", "00:00:01")
        .With("Database:CommandTimeout", "00:00:03")
        .With("Traces:FlushInterval", "00:00:00.050");

    [Fact]
    public async Task AFullPoolIs503WithRetryAfterWithinTheAcquireTimeoutAndKeepsTheTraces()
    {
        using var reader = Factory.CreateClientFor(Tenant, "reader", Scopes.TracesRead, Scopes.JobsWrite);
        using (var before = await reader.GetAsync("/v1/traces?limit=1"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        var dataSource = Factory.Services.GetRequiredService<NpgsqlDataSource>();
        var held = new List<NpgsqlConnection> { await dataSource.OpenConnectionAsync(), await dataSource.OpenConnectionAsync() };
        try
        {
            using (var chat = await PostAsync(Chat("«while the pool is full»")))
            {
                Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
            }

            var clock = Stopwatch.StartNew();
            using var refused = await reader.GetAsync("/v1/traces?limit=1");
            var took = clock.Elapsed;
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
            Assert.EndsWith("database-unavailable", problem.GetProperty("type").GetString(), StringComparison.Ordinal);
            // The acquire timeout (one second) and some room: not the command timeout, and not a queue.
            Assert.True(took < TimeSpan.FromSeconds(2.5), $"the refusal took {took.TotalSeconds:F1} s");

            using var job = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs")
            {
                Content = new StringContent("""{"requests":[{"model":"gpt","messages":[{"role":"user","content":"«job»"}]}]}""", Encoding.UTF8, "application/json"),
            };
            job.Headers.Add("Idempotency-Key", "pool-full");
            using var refusedJob = await reader.SendAsync(job);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refusedJob.StatusCode);
            Assert.NotNull(refusedJob.Headers.RetryAfter);
        }
        finally
        {
            foreach (var connection in held)
            {
                await connection.DisposeAsync();
            }
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        int stored;
        do
        {
            using var page = await reader.GetAsync("/v1/traces?limit=10");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            stored = JsonDocument.Parse(await page.Content.ReadAsStringAsync()).RootElement.GetProperty("data").GetArrayLength();
            if (stored == 0)
            {
                await Task.Delay(100);
            }
        }
        while (stored == 0 && DateTime.UtcNow < deadline);

        Assert.Equal(1, stored);
    }
}
