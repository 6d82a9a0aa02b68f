using App.Application.Calls;
using App.Application.Telemetry;
using App.Application.Traces;
using Microsoft.Extensions.AI;

namespace App.Application.Gateway;

/// <summary>
/// A whole non-streaming model call for callers that are not the chat endpoint (jobs, prompt templates): the
/// gateway call (limits, cache, fallback), its span, and its trace, like every other call.
/// </summary>
public sealed class ChatCalls(ChatGateway gateway, ITraceSink traces, TimeProvider time)
{
    public async Task<ChatCallResult> CompleteAsync(GatewayRequest request, string tenant, string? user, CancellationToken cancellationToken, GuardVerdict? guard = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var record = new ChatCallRecord { Guard = guard };
        var startedAt = time.GetUtcNow();
        var started = time.GetTimestamp();
        var activity = ChatSpans.Start(request, streaming: false);
        try
        {
            var response = await gateway.CompleteAsync(request, bypassCache: false, record, cancellationToken).ConfigureAwait(false);
            record.Output = response.Text;
            return new ChatCallResult(response, record, null);
        }
        catch (GatewayException ex)
        {
            record.ErrorType ??= ex.Kind.ToString();
            return new ChatCallResult(null, record, ex);
        }
        catch (OperationCanceledException)
        {
            record.ErrorType ??= "cancelled";
            throw;
        }
        finally
        {
            var elapsed = time.GetElapsedTime(started);
            var draft = ChatTraces.Draft(tenant, user, request, record, streamed: false, startedAt, elapsed, activity);
            traces.TryRecord(draft);
            ChatSpans.Finish(activity, request, record, elapsed);
        }
    }
}

/// <summary>The answer, or the error the client would have been told, with what happened on the way.</summary>
public sealed record ChatCallResult(ChatResponse? Response, ChatCallRecord Record, GatewayException? Error);
