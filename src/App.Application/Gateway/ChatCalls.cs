using App.Application.Calls;
using App.Application.Traces;

namespace App.Application.Gateway;

/// <summary>
/// Where every model call starts (the chat endpoint, jobs, prompt templates), so that each gets its record, span and
/// trace the same way: <see cref="Start"/> for a caller that relays the answer itself, <see cref="CompleteAsync"/> for
/// a whole answer in one go.
/// </summary>
public sealed class ChatCalls(ChatGateway gateway, ITraceSink traces, TimeProvider time)
{
    /// <summary>
    /// Starts a call's record, clock and span; disposing the call writes its trace and finishes its span. A
    /// <c>timing</c> is the clock of the HTTP request the call is made for, if any (jobs have none).
    /// </summary>
    public ChatCall Start(GatewayRequest request, string tenant, string? user, bool streaming, GuardVerdict? guard = null, CallTiming? timing = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var call = new ChatCall(gateway, traces, time, request, tenant, user, streaming, guard);
        timing?.Follow(call.Record);
        return call;
    }

    /// <summary>A whole non-streaming call: the answer, or the error the client would have been told.</summary>
    public async Task<ChatCallResult> CompleteAsync(GatewayRequest request, string tenant, string? user, CancellationToken cancellationToken, GuardVerdict? guard = null, CallTiming? timing = null)
    {
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
}
