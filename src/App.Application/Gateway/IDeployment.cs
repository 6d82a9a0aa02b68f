using App.Application.Calls;
using Microsoft.Extensions.AI;

namespace App.Application.Gateway;

/// <summary>
/// One deployment of a model route: a provider behind its own resilience pipeline (timeouts, retries, circuit
/// breaker, concurrency limit). Failures surface as <see cref="UpstreamException"/>.
/// </summary>
public interface IDeployment
{
    /// <summary>Stable id, e.g. <c>gpt-4o/0</c>: the alias and the position in its route.</summary>
    string Id { get; }

    string Provider { get; }

    string Model { get; }

    /// <summary>False while the circuit is open: the gateway moves on to the next deployment without trying.</summary>
    bool IsAvailable { get; }

    Task<ChatResponse> CompleteAsync(IReadOnlyList<ChatMessage> messages, ChatOptions options, ChatCallRecord record, CancellationToken cancellationToken);

    /// <summary>
    /// Opens a stream and waits for its first update; retries happen only in here. What is returned is committed:
    /// failures after this point reach the client as an error event.
    /// </summary>
    Task<IStreamingCall> OpenStreamAsync(IReadOnlyList<ChatMessage> messages, ChatOptions options, ChatCallRecord record, CancellationToken cancellationToken);
}
