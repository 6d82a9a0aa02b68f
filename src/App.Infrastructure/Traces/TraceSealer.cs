using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using App.Application.Privacy;
using App.Application.Traces;
using App.Application.Traffic;
using App.Infrastructure.Privacy;
using App.Infrastructure.Security;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Traces;

/// <summary>
/// Turns a queued draft into the row to store: counts the tokens the provider did not report, prices the call, and
/// redacts and encrypts the captured content as <c>Traces:Content</c> says. It runs on the trace writer's thread, so
/// this CPU work stays off the request path.
/// </summary>
/// <param name="encryption">Encrypts captured content when the tenant's data key cannot be had.</param>
/// <param name="keys">The tenants' data keys captured content is encrypted with; without them, the master key ring.</param>
/// <param name="options">Capture mode and content size.</param>
/// <param name="traffic">The price table each trace's cost is computed from; without it, no cost is recorded.</param>
internal sealed class TraceSealer(KeyEncryption encryption, TenantKeys? keys, TraceOptions options, IOptionsMonitor<TrafficOptions>? traffic)
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
        var key = KeyOf(record.TenantId);
        if (key?.ErasedAt is { } erasedAt && record.StartedAt <= erasedAt)
        {
            // Captured before the tenant's content was erased, written after: it goes with the rest.
            return record;
        }

        record.PromptCiphertext = Protect(PromptText(draft.Messages), record, "prompt", key, counts);
        record.OutputCiphertext = Protect(draft.Output, record, "output", key, counts);
        record.Classification = options.Content == ContentCapture.Full ? "full" : "redacted";
        record.Redactions = counts.Count == 0 ? null : JsonSerializer.Serialize(counts);
        return record;
    }

    /// <summary>
    /// The tenant's data key, or null when the database cannot give it now: the content is then sealed with the master
    /// key ring, which an erasure clears, so a trace is not lost to an outage.
    /// </summary>
    private DataKey? KeyOf(string tenantId)
    {
        try
        {
            return keys?.Active(tenantId);
        }
        catch (Exception ex) when (ex is DbException or TimeoutException or InvalidOperationException or CryptographicException)
        {
            return null;
        }
    }

    private byte[]? Protect(string? content, TraceRecord record, string field, DataKey? key, Dictionary<string, int> counts)
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

        var plaintext = Encoding.UTF8.GetBytes(content);
        var context = TraceContent.Context(record.TenantId, record.Id, field);
        return key is null ? encryption.Encrypt(plaintext, context) : ContentCipher.Seal(key, plaintext, context);
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
