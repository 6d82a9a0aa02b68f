using App.Application.Caching;
using App.Application.Calls;
using App.Application.Gateway;
using App.Application.Traffic;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;

namespace App.UnitTests;

public class ChatGatewayRoutingTests
{
    private sealed class FakeDeployment(string id, Func<int, ChatResponse> answer) : IDeployment
    {
        public int Calls { get; private set; }

        public string Id => id;

        public string Provider => "fake";

        public string Model => id + "-model";

        public bool IsAvailable { get; set; } = true;

        public Task<ChatResponse> CompleteAsync(IReadOnlyList<ChatMessage> messages, ChatOptions options, ChatCallRecord record, CancellationToken cancellationToken) =>
            Task.FromResult(answer(++Calls));

        public Task<IStreamingCall> OpenStreamAsync(IReadOnlyList<ChatMessage> messages, ChatOptions options, ChatCallRecord record, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }

    // The requests here name no caller, so nothing is limited: the limiter must not even be asked.
    private sealed class UnusedLimiter : IUsageLimiter
    {
        public ValueTask<Admission> AdmitAsync(UsageCaller caller, string model, long estimatedTokens, CancellationToken cancellationToken) => throw new InvalidOperationException("not expected");

        public ValueTask SettleAsync(Admission admission, CallUsage usage) => throw new InvalidOperationException("not expected");

        public bool HasHeadroom(UsageCaller caller, string model) => throw new InvalidOperationException("not expected");

        public Task<UsageReport> ReportAsync(string tenant, CancellationToken cancellationToken) => throw new InvalidOperationException("not expected");
    }

    private static ChatResponse Ok(string text) => new(new ChatMessage(ChatRole.Assistant, text)) { FinishReason = ChatFinishReason.Stop, ModelId = "m" };

    private static ChatResponse Fail(UpstreamFailureKind kind, TimeSpan? retryAfter = null) => throw new UpstreamException(kind, kind.ToString(), retryAfter: retryAfter);

    private static ChatGateway Gateway(params IDeployment[] deployments) => new(
        new StaticRoutes(new() { ["m"] = deployments }),
        new NoCache(),
        new StaticOptions<CacheOptions>(new CacheOptions()),
        new UnusedLimiter(),
        new CharEstimator(),
        new StaticOptions<TrafficOptions>(new TrafficOptions()),
        TimeProvider.System,
        NullLogger<ChatGateway>.Instance);

    private static GatewayRequest Request(string alias = "m") => new(alias, [new ChatMessage(ChatRole.User, "hi")], new ChatOptions(), "s", null);

    [Fact]
    public async Task FirstHealthyDeploymentServesWithoutFallback()
    {
        var first = new FakeDeployment("a", _ => Ok("from a"));
        var second = new FakeDeployment("b", _ => Ok("from b"));
        var record = new ChatCallRecord();
        var response = await Gateway(first, second).CompleteAsync(Request(), false, record, default);
        Assert.Equal("from a", response.Text);
        Assert.Equal("a", record.DeploymentId);
        Assert.False(record.FallbackUsed);
        Assert.Equal(0, second.Calls);
    }

    [Theory]
    [InlineData(UpstreamFailureKind.ServerError)]
    [InlineData(UpstreamFailureKind.RateLimited)]
    [InlineData(UpstreamFailureKind.Timeout)]
    [InlineData(UpstreamFailureKind.Network)]
    [InlineData(UpstreamFailureKind.Malformed)]
    [InlineData(UpstreamFailureKind.Misconfigured)]
    [InlineData(UpstreamFailureKind.Saturated)]
    [InlineData(UpstreamFailureKind.CircuitOpen)]
    public async Task FailureFallsBackToTheNextDeployment(UpstreamFailureKind kind)
    {
        var first = new FakeDeployment("a", _ => Fail(kind));
        var second = new FakeDeployment("b", _ => Ok("from b"));
        var record = new ChatCallRecord();
        var response = await Gateway(first, second).CompleteAsync(Request(), false, record, default);
        Assert.Equal("from b", response.Text);
        Assert.Equal("b", record.DeploymentId);
        Assert.True(record.FallbackUsed);
    }

    [Fact]
    public async Task BadRequestIsNotRetriedElsewhere()
    {
        var first = new FakeDeployment("a", _ => Fail(UpstreamFailureKind.BadRequest));
        var second = new FakeDeployment("b", _ => Ok("from b"));
        var ex = await Assert.ThrowsAsync<GatewayException>(() => Gateway(first, second).CompleteAsync(Request(), false, new ChatCallRecord(), default));
        Assert.Equal(GatewayErrorKind.UpstreamRejected, ex.Kind);
        Assert.Equal(0, second.Calls);
    }

    [Fact]
    public async Task OpenCircuitsAreSkippedWithoutACall()
    {
        var first = new FakeDeployment("a", _ => Ok("from a")) { IsAvailable = false };
        var second = new FakeDeployment("b", _ => Ok("from b"));
        var record = new ChatCallRecord();
        var response = await Gateway(first, second).CompleteAsync(Request(), false, record, default);
        Assert.Equal("from b", response.Text);
        Assert.Equal(0, first.Calls);
        Assert.True(record.FallbackUsed);
    }

    [Fact]
    public async Task AllSaturatedOrOpenMeansOverloadedWithRetryAfter()
    {
        var first = new FakeDeployment("a", _ => Ok("x")) { IsAvailable = false };
        var second = new FakeDeployment("b", _ => Fail(UpstreamFailureKind.Saturated, TimeSpan.FromSeconds(2)));
        var ex = await Assert.ThrowsAsync<GatewayException>(() => Gateway(first, second).CompleteAsync(Request(), false, new ChatCallRecord(), default));
        Assert.Equal(GatewayErrorKind.Overloaded, ex.Kind);
        Assert.Equal(TimeSpan.FromSeconds(2), ex.RetryAfter);
    }

    [Theory]
    [InlineData(UpstreamFailureKind.Timeout, GatewayErrorKind.UpstreamTimeout)]
    [InlineData(UpstreamFailureKind.ServerError, GatewayErrorKind.UpstreamUnavailable)]
    [InlineData(UpstreamFailureKind.Malformed, GatewayErrorKind.UpstreamUnavailable)]
    public async Task TheLastFailureDecidesWhatTheClientIsTold(UpstreamFailureKind last, GatewayErrorKind expected)
    {
        var first = new FakeDeployment("a", _ => Fail(UpstreamFailureKind.ServerError));
        var second = new FakeDeployment("b", _ => Fail(last));
        var record = new ChatCallRecord();
        var ex = await Assert.ThrowsAsync<GatewayException>(() => Gateway(first, second).CompleteAsync(Request(), false, record, default));
        Assert.Equal(expected, ex.Kind);
        Assert.NotNull(record.ErrorType);
    }

    [Fact]
    public async Task UnknownAliasIsModelNotFound()
    {
        var ex = await Assert.ThrowsAsync<GatewayException>(() => Gateway(new FakeDeployment("a", _ => Ok("x"))).CompleteAsync(Request("nope"), false, new ChatCallRecord(), default));
        Assert.Equal(GatewayErrorKind.ModelNotFound, ex.Kind);
        Assert.Equal("model", ex.Param);
    }
}
