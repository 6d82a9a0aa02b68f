using App.Application.Caching;
using App.Application.Calls;
using App.Application.Gateway;
using App.Application.Traffic;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;

namespace App.UnitTests;

/// <summary>
/// Admission overlapped with the upstream call (Traffic:OverlapAdmission): the call starts before the verdict only
/// for a caller with headroom and an uncacheable request, and a refusal still wins, cancelling what was started.
/// </summary>
public class ChatGatewayOverlapTests
{
    private static readonly UsageCaller Caller = new("t1", "u1");

    /// <summary>Admissions are answered by the test, one at a time, whenever it decides.</summary>
    private sealed class HeldLimiter(bool headroom) : IUsageLimiter
    {
        public TaskCompletionSource<Admission> Verdict { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<CallUsage> Settled { get; } = [];

        public ValueTask<Admission> AdmitAsync(UsageCaller caller, string model, long estimatedTokens, CancellationToken cancellationToken) => new(Verdict.Task);

        public ValueTask SettleAsync(Admission admission, CallUsage usage)
        {
            lock (Settled)
            {
                Settled.Add(usage);
            }

            return ValueTask.CompletedTask;
        }

        public bool HasHeadroom(UsageCaller caller, string model) => headroom;

        public Task<UsageReport> ReportAsync(string tenant, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    /// <summary>A deployment that answers when the test says so, and records that it was started and cancelled.</summary>
    private sealed class HeldDeployment : IDeployment
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Cancelled { get; private set; }

        public HeldStream? Stream { get; private set; }

        public string Id => "held";

        public string Provider => "fake";

        public string Model => "held-model";

        public bool IsAvailable => true;

        public async Task<ChatResponse> CompleteAsync(IReadOnlyList<ChatMessage> messages, ChatOptions options, ChatCallRecord record, CancellationToken cancellationToken)
        {
            await WaitAsync(cancellationToken);
            return new ChatResponse(new ChatMessage(ChatRole.Assistant, "answer"))
            {
                FinishReason = ChatFinishReason.Stop,
                ModelId = "held-model",
                Usage = new UsageDetails { InputTokenCount = 3, OutputTokenCount = 2 },
            };
        }

        public async Task<IStreamingCall> OpenStreamAsync(IReadOnlyList<ChatMessage> messages, ChatOptions options, ChatCallRecord record, CancellationToken cancellationToken)
        {
            await WaitAsync(cancellationToken);
            return Stream = new HeldStream();
        }

        private async Task WaitAsync(CancellationToken cancellationToken)
        {
            Started.TrySetResult();
            try
            {
                await Answer.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Cancelled = true;
                throw;
            }
        }
    }

    private sealed class HeldStream : IStreamingCall
    {
        public bool Disposed { get; private set; }

        public ChatResponseUpdate First { get; } = new(ChatRole.Assistant, "first") { ModelId = "held-model" };

        public async IAsyncEnumerable<ChatResponseUpdate> ReadRestAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, " rest") { FinishReason = ChatFinishReason.Stop };
        }

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return ValueTask.CompletedTask;
        }
    }

    private static ChatGateway Gateway(IDeployment deployment, IUsageLimiter limiter) => new(
        new StaticRoutes(new() { ["m"] = [deployment] }),
        new NoCache(),
        new StaticOptions<CacheOptions>(new CacheOptions()),
        limiter,
        new CharEstimator(),
        new StaticOptions<TrafficOptions>(new TrafficOptions()),
        TimeProvider.System,
        NullLogger<ChatGateway>.Instance);

    // No temperature or seed: not deterministic, so the default cache options skip the cache.
    private static GatewayRequest Request(ChatOptions? options = null) =>
        new("m", [new ChatMessage(ChatRole.User, "hello")], options ?? new ChatOptions(), "t1", null) { Caller = Caller };

    private static Admission Admitted() => new()
    {
        Verdict = AdmissionVerdict.Admitted,
        Reserved = new Reservation(Caller, "m", 10, 0, "k", DateTimeOffset.UnixEpoch),
    };

    private static Admission Refused() => new() { Verdict = AdmissionVerdict.RateLimited, Limit = "requests", RetryAfter = TimeSpan.FromSeconds(3) };

    [Fact]
    public async Task WithHeadroomTheCallStartsBeforeTheVerdictAndIsSettledAfter()
    {
        var deployment = new HeldDeployment();
        var limiter = new HeldLimiter(headroom: true);
        var record = new ChatCallRecord();
        var completing = Gateway(deployment, limiter).CompleteAsync(Request(), false, record, default);

        await deployment.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(completing.IsCompleted);
        limiter.Verdict.SetResult(Admitted());
        deployment.Answer.SetResult();

        var response = await completing.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("answer", response.Text);
        Assert.Null(record.ErrorType);
        Assert.Equal(CacheStatus.Bypass, record.Cache);
        Assert.Equal([new CallUsage(3, 2, false)], limiter.Settled);
    }

    [Fact]
    public async Task ARefusalCancelsTheStartedCallAndIsWhatTheClientGets()
    {
        var deployment = new HeldDeployment();
        var limiter = new HeldLimiter(headroom: true);
        var record = new ChatCallRecord();
        var completing = Gateway(deployment, limiter).CompleteAsync(Request(), false, record, default);

        await deployment.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        limiter.Verdict.SetResult(Refused());

        var ex = await Assert.ThrowsAsync<GatewayException>(() => completing.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(GatewayErrorKind.RateLimited, ex.Kind);
        Assert.Equal(TimeSpan.FromSeconds(3), ex.RetryAfter);
        Assert.True(deployment.Cancelled);
        Assert.Equal(nameof(AdmissionVerdict.RateLimited), record.ErrorType);
        Assert.Empty(limiter.Settled);
    }

    [Fact]
    public async Task WithoutHeadroomNothingStartsBeforeTheVerdict()
    {
        var deployment = new HeldDeployment();
        var limiter = new HeldLimiter(headroom: false);
        var completing = Gateway(deployment, limiter).CompleteAsync(Request(), false, new ChatCallRecord(), default);

        await Task.Delay(50);
        Assert.False(deployment.Started.Task.IsCompleted);
        limiter.Verdict.SetResult(Refused());
        await Assert.ThrowsAsync<GatewayException>(() => completing.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(deployment.Started.Task.IsCompleted);
    }

    [Fact]
    public async Task ACacheableRequestWaitsForItsVerdictEvenWithHeadroom()
    {
        var deployment = new HeldDeployment();
        var limiter = new HeldLimiter(headroom: true);
        var completing = Gateway(deployment, limiter).CompleteAsync(Request(new ChatOptions { Temperature = 0 }), false, new ChatCallRecord(), default);

        await Task.Delay(50);
        Assert.False(deployment.Started.Task.IsCompleted);
        limiter.Verdict.SetResult(Admitted());
        deployment.Answer.SetResult();
        Assert.Equal("answer", (await completing.WaitAsync(TimeSpan.FromSeconds(10))).Text);
    }

    [Fact]
    public async Task AStreamOpenedBeforeARefusalIsClosed()
    {
        var deployment = new HeldDeployment();
        var limiter = new HeldLimiter(headroom: true);
        var record = new ChatCallRecord();
        var streaming = Gateway(deployment, limiter).StreamAsync(Request(), false, record, default);

        await deployment.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        deployment.Answer.SetResult();
        await Task.Delay(20);
        limiter.Verdict.SetResult(Refused());

        var ex = await Assert.ThrowsAsync<GatewayException>(() => streaming.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(GatewayErrorKind.RateLimited, ex.Kind);
        Assert.NotNull(deployment.Stream);
        Assert.True(deployment.Stream!.Disposed);
        Assert.Equal(nameof(AdmissionVerdict.RateLimited), record.ErrorType);
        Assert.Empty(limiter.Settled);
    }

    [Fact]
    public async Task AnAdmittedStreamIsRelayedWholeAndSettledOnDispose()
    {
        var deployment = new HeldDeployment();
        var limiter = new HeldLimiter(headroom: true);
        var streaming = Gateway(deployment, limiter).StreamAsync(Request(), false, new ChatCallRecord(), default);

        await deployment.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(streaming.IsCompleted);
        limiter.Verdict.SetResult(Admitted());
        deployment.Answer.SetResult();

        var text = new System.Text.StringBuilder();
        await using (var answer = await streaming.WaitAsync(TimeSpan.FromSeconds(10)))
        {
            await foreach (var update in answer.ReadAllAsync(default))
            {
                text.Append(update.Text);
            }
        }

        Assert.Equal("first rest", text.ToString());
        Assert.True(deployment.Stream!.Disposed);
        Assert.Single(limiter.Settled);
    }
}
