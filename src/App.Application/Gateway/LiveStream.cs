using System.Runtime.CompilerServices;
using System.Text;
using App.Application.Caching;
using App.Application.Calls;
using App.Application.Traffic;
using Microsoft.Extensions.AI;

namespace App.Application.Gateway;

/// <summary>
/// A deployment's stream relayed as it arrives. When the call leads a cache flight (a <c>key</c> and its
/// <c>flight</c>), the complete answer is stored (in the semantic cache too, where it is on) and the followers are
/// woken when the stream ends.
/// </summary>
internal sealed class LiveStream(
    AdmissionGate gate,
    SingleFlightCache cache,
    IStreamingCall opened,
    GatewayRequest request,
    ChatCallRecord record,
    Admission admission,
    string? key,
    TaskCompletionSource<CachedCompletion?>? flight,
    ISemanticCache? semantic,
    IDisposable? owned = null) : StreamingAnswer
{
    private CachedCompletion? _completed;
    private long _chars;

    public override async IAsyncEnumerable<ChatResponseUpdate> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        UsageDetails? usage = null;
        string? model = null;

        Observe(opened.First);
        yield return opened.First;
        // Each wait for the next piece is the provider's time; the rest, relaying it, is the gateway's.
        var rest = opened.ReadRestAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using (rest.ConfigureAwait(false))
        {
            while (true)
            {
                record.UpstreamBegins();
                bool more;
                try
                {
                    more = await rest.MoveNextAsync().ConfigureAwait(false);
                }
                finally
                {
                    record.UpstreamEnds();
                }

                if (!more)
                {
                    break;
                }

                Observe(rest.Current);
                yield return rest.Current;
            }
        }

        record.FinishReason = finish?.Value;
        record.InputTokens = usage?.InputTokenCount;
        record.OutputTokens = usage?.OutputTokenCount;
        if (key is not null)
        {
            _completed = cache.ToCached(text.ToString(), finish, model ?? record.ResponseModel, usage);
            await cache.StoreAsync(key, _completed).ConfigureAwait(false);
            if (_completed is not null && semantic is not null)
            {
                await semantic.AddAsync(request, _completed).ConfigureAwait(false);
            }
        }

        void Observe(ChatResponseUpdate update)
        {
            model ??= update.ModelId;
            finish ??= update.FinishReason;
            foreach (var content in update.Contents)
            {
                switch (content)
                {
                    case TextContent t:
                        _chars += t.Text.Length;
                        if (key is not null)
                        {
                            text.Append(t.Text);
                        }

                        break;
                    case UsageContent u:
                        usage = u.Details;
                        break;
                }
            }
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await opened.DisposeAsync().ConfigureAwait(false);
        owned?.Dispose();
        // A stream cut short still used what it produced: counted from the text when the provider said nothing.
        gate.Settle(admission, gate.UsageOf(request, record, _chars));
        if (key is not null && flight is not null)
        {
            cache.ReleaseFlight(key, flight, _completed);
        }
    }
}
