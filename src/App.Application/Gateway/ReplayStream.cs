using System.Runtime.CompilerServices;
using App.Application.Caching;
using App.Application.Calls;
using App.Application.Traffic;
using Microsoft.Extensions.AI;

namespace App.Application.Gateway;

/// <summary>A cached answer replayed as a stream: the whole text in one update, then the finish and the usage.</summary>
internal sealed class ReplayStream(AdmissionGate gate, CachedCompletion hit, GatewayRequest request, ChatCallRecord record, Admission admission, TimeProvider time) : StreamingAnswer
{
    public override async IAsyncEnumerable<ChatResponseUpdate> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        SingleFlightCache.Describe(hit, record);
        record.TimeToFirstToken = TimeSpan.Zero;
        var created = time.GetUtcNow();
        yield return new ChatResponseUpdate(ChatRole.Assistant, hit.Text) { ModelId = hit.Model, CreatedAt = created };
        yield return new ChatResponseUpdate
        {
            ModelId = hit.Model,
            CreatedAt = created,
            FinishReason = new ChatFinishReason(hit.FinishReason),
            Contents = [new UsageContent(SingleFlightCache.UsageOf(hit))],
        };
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public override ValueTask DisposeAsync()
    {
        gate.Settle(admission, gate.UsageOf(request, record, hit.Text.Length));
        return ValueTask.CompletedTask;
    }
}
