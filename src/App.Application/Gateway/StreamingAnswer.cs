using Microsoft.Extensions.AI;

namespace App.Application.Gateway;

/// <summary>A streamed answer: replayed from the cache or relayed live from a deployment.</summary>
public abstract class StreamingAnswer : IAsyncDisposable
{
    public abstract IAsyncEnumerable<ChatResponseUpdate> ReadAllAsync(CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();
}
