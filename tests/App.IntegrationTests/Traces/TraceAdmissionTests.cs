using System.Net;
using App.Infrastructure.Traces;
using App.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace App.IntegrationTests.Traces;

/// <summary>
/// A call is admitted only when its trace will be kept: with the trace writer behind (here, a queue of 8 that is
/// written only every 30 s), the seventh call waits for room and, given none within Traces:AdmissionWait, is refused
/// with 503 and Retry-After before it reaches the model provider; no trace is dropped.
/// </summary>
public sealed class TraceAdmissionTests : GatewayTest
{
    protected override Settings Configure(Settings settings) => base.Configure(settings)
        .With("Traces:QueueCapacity", "8")
        .With("Traces:BatchSize", "500")
        .With("Traces:FlushInterval", "00:00:30")
        .With("Traces:AdmissionWait", "00:00:00.300");

    [Fact]
    public async Task CallsBeyondWhatTheWriterKeepsUpWithAre503WithRetryAfterAndNoTraceIsDropped()
    {
        for (var i = 0; i < 6; i++)
        {
            using var admitted = await PostAsync(Chat($"admitted {i}", temperature: 0.7));
            Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
        }

        var upstreamCalls = Upstream.Requests;
        foreach (var stream in new[] { false, true })
        {
            using var refused = await PostAsync(Chat("one too many", temperature: 0.7, stream: stream));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("1", Header(refused, "Retry-After"));
            var error = (await ReadAsync(refused)).GetProperty("error");
            Assert.Equal("overloaded", error.GetProperty("code").GetString());
            Assert.Contains("recording the calls it accepted", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(upstreamCalls, Upstream.Requests);
        var writer = Factory.Services.GetRequiredService<TraceWriter>();
        Assert.Equal(0, writer.Dropped);
    }
}
