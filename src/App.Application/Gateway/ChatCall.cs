using System.Diagnostics;
using App.Application.Calls;
using App.Application.Telemetry;
using App.Application.Traces;
using Microsoft.Extensions.AI;

namespace App.Application.Gateway;

/// <summary>
/// One chat call, streamed or whole, from <see cref="ChatCalls.Start"/> to <see cref="Dispose"/>: its record, clock
/// and span start once, and its trace and span are finished once from what the record says happened.
/// </summary>
public sealed class ChatCall : IDisposable
{
    private readonly ChatGateway _gateway;
    private readonly ITraceSink _traces;
    private readonly TimeProvider _time;
    private readonly string _tenant;
    private readonly string? _user;
    private readonly DateTimeOffset _startedAt;
    private readonly long _started;
    private readonly Activity? _activity;
    private readonly string _model;
    private bool _finished;

    internal ChatCall(ChatGateway gateway, ITraceSink traces, TimeProvider time, GatewayRequest request, string tenant, string? user, bool streaming, GuardVerdict? guard)
    {
        _gateway = gateway;
        _traces = traces;
        _time = time;
        _tenant = tenant;
        _user = user;
        Request = request;
        Streaming = streaming;
        Record = new ChatCallRecord { Guard = guard };
        _startedAt = time.GetUtcNow();
        _started = time.GetTimestamp();
        _model = gateway.HasModel(request.Alias) ? request.Alias : ChatSpans.UnknownModel;
        _activity = ChatSpans.Start(request, _model, streaming);
    }

    public GatewayRequest Request { get; }

    /// <summary>What happened so far; the trace and the span are made from it.</summary>
    public ChatCallRecord Record { get; }

    public bool Streaming { get; }

    /// <summary>The whole answer through the gateway (limits, cache, fallback); the record keeps its text.</summary>
    public async Task<ChatResponse> CompleteAsync(bool bypassCache, CancellationToken cancellationToken)
    {
        var response = await _gateway.CompleteAsync(Request, bypassCache, Record, cancellationToken).ConfigureAwait(false);
        Record.Output = response.Text;
        return response;
    }

    /// <summary>
    /// A streamed answer through the gateway: whatever fails before the first token fails here. The caller that relays
    /// it sets <see cref="ChatCallRecord.Output"/> to the text the client received.
    /// </summary>
    public Task<StreamingAnswer> StreamAsync(bool bypassCache, CancellationToken cancellationToken) =>
        _gateway.StreamAsync(Request, bypassCache, Record, cancellationToken);

    /// <summary>The call ended in an error the client is told; a more precise reason recorded on the way is kept.</summary>
    public void Failed(GatewayException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        Record.ErrorType ??= error.Kind.ToString();
    }

    /// <summary>The caller gave up on the call (a job stopped, a prompt run cancelled).</summary>
    public void Cancelled() => Record.ErrorType ??= "cancelled";

    /// <summary>The client hung up: whatever else went wrong, that is how the call ended.</summary>
    public void ClientDisconnected() => Record.ErrorType = "client_disconnected";

    /// <summary>A stream broke after its first token reached the client, so the client holds a partial answer.</summary>
    public void StreamFailed(Exception error)
    {
        Record.ErrorType = error is UpstreamException upstream ? $"stream_{upstream.Kind}" : "stream_failed";
        GatewayTelemetry.StreamErrors.Add(1, new KeyValuePair<string, object?>("error.type", Record.ErrorType));
    }

    /// <summary>Writes the trace and finishes the span, once.</summary>
    public void Dispose()
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        var elapsed = _time.GetElapsedTime(_started);
        _traces.TryRecord(ChatTraces.Draft(_tenant, _user, Request, Record, Streaming, _startedAt, elapsed, _activity));
        ChatSpans.Finish(_activity, _model, Record, elapsed);
    }
}
