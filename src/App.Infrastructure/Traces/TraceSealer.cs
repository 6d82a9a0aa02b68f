using System.Text;
using System.Text.Json;
using App.Application.Privacy;
using App.Application.Traces;
using App.Application.Traffic;
using App.Infrastructure.Security;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Traces;

/// <summary>
/// Turns a queued draft into the row to store: counts the tokens the provider did not report, prices the call, and
/// redacts and encrypts the captured content as <c>Traces:Content</c> says. It runs on the trace writer's thread, so
/// this CPU work stays off the request path.
/// </summary>
/// <param name="encryption">Encrypts captured content.</param>
/// <param name="options">Capture mode and content size.</param>
/// <param name="traffic">The price table each trace's cost is computed from; without it, no cost is recorded.</param>
internal sealed class TraceSealer(KeyEncryption encryption, TraceOptions options, IOptionsMonitor<TrafficOptions>? traffic)
{
    /// <summary>Applies the capture mode: nothing, redacted then encrypted, or encrypted as is.</summary>
    public TraceRecord Seal(TraceDraft draft)
    {
        var record = draft.Record;
        // Usage the provider did not report is counted here, off the request path.
        if (record.InputTokens is null && record.OutputTokens is null && draft.Messages is { Count: > 0 } messages && record.Status == TraceStatus.Ok)
        {
            record.InputTokens = TokenCounter.CountPrompt(messages);
            record.OutputTokens = draft.Output is null ? 0 : TokenCounter.Count(draft.Output);
            record.TokenSource = "tokenizer";
        }

        // Priced as it is now, with the tokens as they are now known: what the call cost, for this trace.
        if (traffic is not null && (record.InputTokens is not null || record.OutputTokens is not null))
        {
            record.CostNanoUsd = record.Cached ? 0 : traffic.CurrentValue.PriceOf(record.ModelAlias).NanoDollars(record.InputTokens ?? 0, record.OutputTokens ?? 0);
        }

        if (options.Content == ContentCapture.Off)
        {
            return record;
        }

        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        record.PromptCiphertext = Protect(PromptText(draft.Messages), record, "prompt", counts);
        record.OutputCiphertext = Protect(draft.Output, record, "output", counts);
        record.Classification = options.Content == ContentCapture.Full ? "full" : "redacted";
        record.Redactions = counts.Count == 0 ? null : JsonSerializer.Serialize(counts);
        return record;
    }

    private byte[]? Protect(string? content, TraceRecord record, string field, Dictionary<string, int> counts)
    {
        if (content is null)
        {
            return null;
        }

        if (content.Length > options.MaxContentChars)
        {
            content = content[..options.MaxContentChars];
        }

        if (options.Content == ContentCapture.Redacted)
        {
            var redaction = Redactor.Redact(content);
            content = redaction.Text;
            foreach (var (kind, count) in redaction.Counts)
            {
                counts[kind] = counts.GetValueOrDefault(kind) + count;
            }
        }

        return encryption.Encrypt(Encoding.UTF8.GetBytes(content), TraceWriter.ContentContext(record.TenantId, record.Id, field));
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
}
