using System.Diagnostics;

namespace App.Application.Calls;

/// <summary>
/// One HTTP request's clock, split between the gateway's own time and the time it waited on model providers (the
/// <c>Server-Timing</c> header and the <c>app.gateway.overhead</c> histogram): the request starts it, and every model
/// call made on its behalf reports to it.
/// </summary>
public sealed class CallTiming
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private ChatCallRecord? _first;
    private List<ChatCallRecord>? _more;

    /// <summary>Time since the request began.</summary>
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);

    /// <summary>Time the request's model calls waited on providers so far, waits in progress included.</summary>
    public TimeSpan Upstream
    {
        get
        {
            var total = _first?.UpstreamTime ?? TimeSpan.Zero;
            if (_more is not null)
            {
                foreach (var record in _more)
                {
                    total += record.UpstreamTime;
                }
            }

            return total;
        }
    }

    /// <summary>Whether any of the request's model calls reached a provider.</summary>
    public bool CalledUpstream => _first?.CalledUpstream == true || _more?.Exists(r => r.CalledUpstream) == true;

    /// <summary>A model call made for this request: its waits on providers count as upstream time.</summary>
    public void Follow(ChatCallRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (_first is null)
        {
            _first = record;
        }
        else
        {
            (_more ??= []).Add(record);
        }
    }
}
