using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using App.Application.Privacy;
using App.Application.Traces;
using App.Infrastructure.Persistence;
using App.Infrastructure.Security;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Traces;

/// <summary>
/// Writes traces off the request path: requests put drafts in a bounded channel (never waiting; when it is full
/// the draft is dropped and counted), and this background writer redacts and encrypts their content, then inserts
/// them in batches (by size or time), one transaction per tenant so row-level security checks every row. On a
/// graceful stop it drains the channel completely. (PostgreSQL refuses COPY into tables with row security, hence
/// batched INSERTs.)
/// </summary>
public sealed partial class TraceWriter : BackgroundService, ITraceSink
{
    /// <summary>The meter of the writer's instruments (<c>app.traces.*</c>).</summary>
    public const string MeterName = "App.Traces";

    private readonly Channel<TraceDraft> _channel;
    private readonly TenantData _data;
    private readonly KeyEncryption _encryption;
    private readonly TraceOptions _options;
    private readonly ILogger<TraceWriter> _logger;
    private readonly Counter<long> _written;
    private readonly Counter<long> _dropped;
    // Never disposed: the host may stop this service after disposing it (WebApplicationFactory does), and a
    // token source without timers or links holds nothing that needs disposing.
    private readonly CancellationTokenSource _stopping = new();
    // Traces queued and not yet taken by the loop (an approximate count, kept without the channel's lock), and what
    // a waiting loop is woken by when a full batch is there before the flush interval ends.
    private int _queued;
    private TaskCompletionSource? _batchFull;

    public TraceWriter(TenantData data, KeyEncryption encryption, IOptions<TraceOptions> options, IMeterFactory meters, ILogger<TraceWriter> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meters);
        _data = data;
        _encryption = encryption;
        _options = options.Value;
        _logger = logger;
        _channel = Channel.CreateBounded<TraceDraft>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails instead of blocking: we count, never wait
            SingleReader = true,
        });
        var meter = meters.Create(MeterName);
        _written = meter.CreateCounter<long>("app.traces.written", "{trace}", "Traces stored.");
        _dropped = meter.CreateCounter<long>("app.traces.dropped", "{trace}", "Traces lost: queue full, or storage failing past retries.");
        meter.CreateObservableGauge("app.traces.queued", () => (long)_channel.Reader.Count, "{trace}", "Traces waiting to be written.");
    }

    public long Dropped { get; private set; }

    public bool TryRecord(TraceDraft draft)
    {
        ArgumentNullException.ThrowIfNull(draft);
        if (!_options.Enabled)
        {
            return false;
        }

        if (_channel.Writer.TryWrite(draft))
        {
            if (Interlocked.Increment(ref _queued) >= _options.BatchSize)
            {
                Volatile.Read(ref _batchFull)?.TrySetResult();
            }

            return true;
        }

        Drop(1, "queue full");
        return false;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // No new traces; the loop below writes what is queued and ends.
        await _stopping.CancelAsync().ConfigureAwait(false);
        _channel.Writer.TryComplete();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);

        // BackgroundService starts the loop on the thread pool and skips it if the stop came first: a host stopped
        // right after it started would then lose what was queued. Whatever the loop did not take is written here.
        if (_channel.Reader.Count > 0)
        {
            var batch = new List<TraceDraft>(_options.BatchSize);
            while (_channel.Reader.TryRead(out var draft))
            {
                batch.Add(draft);
                if (batch.Count == _options.BatchSize)
                {
                    await WriteAsync(batch).ConfigureAwait(false);
                    batch.Clear();
                }
            }

            await WriteAsync(batch).ConfigureAwait(false);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<TraceDraft>(_options.BatchSize);
        var reader = _channel.Reader;
        // Not the stopping token: a stop completes the channel, and the loop drains it before ending.
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            // A batch gathers for FlushInterval, or until it is full: the loop wakes once per interval, not once per
            // trace, which at moderate load was a thread-pool wake-up and a one-row transaction per request.
            await GatherAsync().ConfigureAwait(false);
            while (batch.Count < _options.BatchSize && reader.TryRead(out var draft))
            {
                batch.Add(draft);
            }

            Interlocked.Add(ref _queued, -batch.Count);

            await WriteAsync(batch).ConfigureAwait(false);
            batch.Clear();
        }
    }

    private async Task GatherAsync()
    {
        // One timer per interval, cut short by the request that fills the batch. (Polling the queue for a full batch,
        // ten times per interval, cost fifty timer callbacks and thread-pool wake-ups a second on an idle core.)
        var full = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _batchFull, full);
        try
        {
            if (_channel.Reader.Count >= _options.BatchSize || _stopping.IsCancellationRequested)
            {
                return;
            }

            // Whichever comes first: a full batch, the interval, or a stop (which writes what is queued now).
            using var interval = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            if (await Task.WhenAny(full.Task, Task.Delay(_options.FlushInterval, interval.Token)).ConfigureAwait(false) == full.Task)
            {
                await interval.CancelAsync().ConfigureAwait(false); // the timer goes now, not at the end of the interval
            }
        }
        finally
        {
            Volatile.Write(ref _batchFull, null);
        }
    }

    private async Task WriteAsync(List<TraceDraft> batch)
    {
        foreach (var tenant in batch.GroupBy(d => d.Record.TenantId, StringComparer.Ordinal))
        {
            var records = tenant.Select(Seal).ToList();
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await _data.ExecuteAsync(tenant.Key, TraceInsert.Command(records), CancellationToken.None).ConfigureAwait(false);
                    _written.Add(records.Count);
                    break;
                }
                catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException or InvalidOperationException)
                {
                    if (attempt >= 3)
                    {
                        Drop(records.Count, ex.GetType().Name);
                        break;
                    }

                    await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt)).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>Applies the capture mode: nothing, redacted then encrypted, or encrypted as is.</summary>
    private TraceRecord Seal(TraceDraft draft)
    {
        var record = draft.Record;
        // Usage the provider did not report is counted here, off the request path.
        if (record.InputTokens is null && record.OutputTokens is null && draft.Messages is { Count: > 0 } messages && record.Status == "ok")
        {
            record.InputTokens = TokenCounter.CountPrompt(messages);
            record.OutputTokens = draft.Output is null ? 0 : TokenCounter.Count(draft.Output);
            record.TokenSource = "tokenizer";
        }

        if (_options.Content == ContentCapture.Off)
        {
            return record;
        }

        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        record.PromptCiphertext = Protect(PromptText(draft.Messages), record, "prompt", counts);
        record.OutputCiphertext = Protect(draft.Output, record, "output", counts);
        record.Classification = _options.Content == ContentCapture.Full ? "full" : "redacted";
        record.Redactions = counts.Count == 0 ? null : JsonSerializer.Serialize(counts);
        return record;
    }

    private byte[]? Protect(string? content, TraceRecord record, string field, Dictionary<string, int> counts)
    {
        if (content is null)
        {
            return null;
        }

        if (content.Length > _options.MaxContentChars)
        {
            content = content[.._options.MaxContentChars];
        }

        if (_options.Content == ContentCapture.Redacted)
        {
            var redaction = Redactor.Redact(content);
            content = redaction.Text;
            foreach (var (kind, count) in redaction.Counts)
            {
                counts[kind] = counts.GetValueOrDefault(kind) + count;
            }
        }

        return _encryption.Encrypt(Encoding.UTF8.GetBytes(content), ContentContext(record.TenantId, record.Id, field));
    }

    private static string? PromptText(IReadOnlyList<(string Role, string Text)>? messages)
    {
        if (messages is null)
        {
            return null;
        }

        var prompt = new StringBuilder();
        foreach (var (role, text) in messages)
        {
            prompt.Append(role).Append(": ").AppendLine(text);
        }

        return prompt.ToString();
    }

    /// <summary>The associated data of a trace's content: a ciphertext only decrypts in its own row and field.</summary>
    public static string ContentContext(string tenantId, Guid id, string field) => $"trace:{tenantId}:{id:N}:{field}";

    private void Drop(int count, string reason)
    {
        Dropped += count;
        _dropped.Add(count);
        LogDropped(count, reason);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped {Count} trace(s): {Reason}")]
    private partial void LogDropped(int count, string reason);
}
