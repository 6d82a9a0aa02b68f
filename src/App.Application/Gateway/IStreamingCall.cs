using Microsoft.Extensions.AI;

namespace App.Application.Gateway;

/// <summary>A stream whose first update has arrived. Disposing it releases the concurrency slot and cancels the upstream.</summary>
public interface IStreamingCall : IAsyncDisposable
{
    ChatResponseUpdate First { get; }

    /// <summary>The updates after <see cref="First"/>.</summary>
    IAsyncEnumerable<ChatResponseUpdate> ReadRestAsync(CancellationToken cancellationToken);
}
