using System.Diagnostics;
using App.Application.Calls;
using App.Application.Gateway;
using App.Application.Traces;

namespace App.Application.Embeddings;

/// <summary>
/// Where every embeddings call starts: admitted like a chat call (a call whose trace could not be kept is refused
/// first), then run through the <see cref="EmbeddingGateway"/> with its span, metrics and trace finished once,
/// whatever happened. The trace holds the counts, never the texts or the vectors.
/// </summary>
public sealed class EmbeddingCalls(EmbeddingGateway gateway, ChatCalls calls, ITraceSink traces, TimeProvider time)
{
    /// <summary>Null when a new call may start; otherwise the 503 to answer instead.</summary>
    public ValueTask<GatewayException?> AdmitAsync(CancellationToken cancellationToken) => calls.AdmitAsync(cancellationToken);

    /// <summary>Runs the call; <paramref name="record"/> says what happened, for the response headers.</summary>
    public async Task<EmbeddingResult> EmbedAsync(EmbeddingRequest request, string tenant, string? user, ChatCallRecord record, CallTiming? timing, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(record);
        timing?.Follow(record);
        var startedAt = time.GetUtcNow();
        var started = time.GetTimestamp();
        var activity = EmbeddingSpans.Start(request);
        try
        {
            return await gateway.EmbedAsync(request, record, cancellationToken).ConfigureAwait(false);
        }
        catch (GatewayException ex)
        {
            record.ErrorType ??= ex.Kind.ToString();
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            record.ErrorType = "client_disconnected";
            throw;
        }
        finally
        {
            var elapsed = time.GetElapsedTime(started);
            traces.TryRecord(Draft(tenant, user, request, record, startedAt, elapsed, activity));
            EmbeddingSpans.Finish(activity, request, record, elapsed);
        }
    }

    private static TraceDraft Draft(string tenant, string? user, EmbeddingRequest request, ChatCallRecord record, DateTimeOffset startedAt, TimeSpan elapsed, Activity? activity)
    {
        // The chat trace shape, with no content: the inputs may be whole documents, and vectors are never stored.
        var chat = ChatTraces.Draft(tenant, user, new GatewayRequest(request.Alias, [], new Microsoft.Extensions.AI.ChatOptions(), request.Scope, request.EndUser), record, false, startedAt, elapsed, activity);
        return chat with { Messages = null, Output = null };
    }
}
