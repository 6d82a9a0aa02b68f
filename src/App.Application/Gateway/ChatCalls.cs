using App.Application.Calls;
using App.Application.Identity;
using App.Application.Telemetry;
using App.Application.Traces;

namespace App.Application.Gateway;

/// <summary>
/// Where every model call starts (the chat endpoint, jobs, prompt templates), so that each gets its record, span and
/// trace the same way: <see cref="Start"/> for a caller that relays the answer itself, <see cref="CompleteAsync"/> for
/// a whole answer in one go. A call is first admitted (<see cref="AdmitAsync"/>): one whose trace could not be kept is
/// refused before it starts, never answered and then left untraced.
/// </summary>
public sealed class ChatCalls(ChatGateway gateway, ITraceSink traces, TimeProvider time)
{
    /// <summary>The error a call refused at admission gets: the trace writer is behind the load.</summary>
    public const string TraceBacklog = "trace_backlog";

    private long _warmUpCalls;

    /// <summary>
    /// Null when a new call may start; otherwise the 503 to answer instead (with <c>Retry-After</c>), after waiting up
    /// to <c>Traces:AdmissionWait</c> for the trace writer to make room. Waiting costs no CPU, so a closed loop of
    /// clients slows to what the writer keeps up with before anyone is refused.
    /// </summary>
    public async ValueTask<GatewayException?> AdmitAsync(CancellationToken cancellationToken)
    {
        if (await traces.WaitForRoomAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        GatewayTelemetry.Rejections.Add(1, new KeyValuePair<string, object?>("error.type", TraceBacklog));
        return new GatewayException(
            GatewayErrorKind.Overloaded,
            "The service is behind on recording the calls it accepted. Retry after the delay in Retry-After.",
            retryAfter: TimeSpan.FromSeconds(1));
    }

    /// <summary>
    /// Starts a call's record, clock and span; disposing the call writes its trace and finishes its span. A
    /// <c>timing</c> is the clock of the HTTP request the call is made for, if any (jobs have none).
    /// </summary>
    public ChatCall Start(GatewayRequest request, string tenant, string? user, bool streaming, GuardVerdict? guard = null, CallTiming? timing = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var call = new ChatCall(gateway, SinkFor(tenant), time, request, tenant, user, streaming, guard);
        timing?.Follow(call.Record);
        return call;
    }

    /// <summary>
    /// Where a call's trace goes: the writer, except for three in four of the service's own warm-up calls. A part of
    /// them is enough to compile the writer's path before ready (their inserts are rolled back); all of them would keep
    /// the writer busy for seconds more before the instance could report ready.
    /// </summary>
    private ITraceSink SinkFor(string tenant) =>
        !ReservedTenants.IsWarmUp(tenant) || Interlocked.Increment(ref _warmUpCalls) % 4 == 0 ? traces : Unrecorded.Instance;

    /// <summary>A whole non-streaming call: the answer, or the error the client would have been told.</summary>
    public async Task<ChatCallResult> CompleteAsync(GatewayRequest request, string tenant, string? user, CancellationToken cancellationToken, GuardVerdict? guard = null, CallTiming? timing = null)
    {
        if (await AdmitAsync(cancellationToken).ConfigureAwait(false) is { } refused)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return new ChatCallResult(null, new ChatCallRecord { Guard = guard, ErrorType = TraceBacklog }, refused);
        }

        using var call = Start(request, tenant, user, streaming: false, guard, timing);
        try
        {
            var response = await call.CompleteAsync(bypassCache: false, cancellationToken).ConfigureAwait(false);
            return new ChatCallResult(response, call.Record, null);
        }
        catch (GatewayException ex)
        {
            call.Failed(ex);
            return new ChatCallResult(null, call.Record, ex);
        }
        catch (OperationCanceledException)
        {
            call.Cancelled();
            throw;
        }
    }

    /// <summary>Where the warm-up calls that are not traced go: nowhere.</summary>
    private sealed class Unrecorded : ITraceSink
    {
        public static readonly Unrecorded Instance = new();

        public bool TryRecord(TraceDraft draft) => true;

        public ValueTask<bool> WaitForRoomAsync(CancellationToken cancellationToken) => ValueTask.FromResult(true);
    }
}
