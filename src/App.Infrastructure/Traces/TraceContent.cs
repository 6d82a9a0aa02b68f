using System.Text;
using App.Application.Traces;
using App.Infrastructure.Persistence;
using App.Infrastructure.Privacy;
using App.Infrastructure.Security;

namespace App.Infrastructure.Traces;

/// <summary>
/// Opens a trace's stored content: sealed with its tenant's data key (<see cref="ContentCipher"/>), or, when that key
/// could not be had or did not exist yet, with the master key ring. A data key that no longer exists means the tenant's
/// content was erased: the answer says so instead of failing.
/// </summary>
public sealed class TraceContent(TenantData data, TenantKeys keys, KeyEncryption encryption)
{
    /// <summary>The associated data of a trace's content: a ciphertext only decrypts in its own row and field.</summary>
    public static string Context(string tenantId, Guid id, string field) => $"trace:{tenantId}:{id:N}:{field}";

    public async Task<OpenedContent> OpenAsync(TraceRecord trace, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trace);
        var prompt = await OpenAsync(trace, trace.PromptCiphertext, "prompt", cancellationToken).ConfigureAwait(false);
        var output = await OpenAsync(trace, trace.OutputCiphertext, "output", cancellationToken).ConfigureAwait(false);
        return new OpenedContent(prompt.Text, output.Text, prompt.Erased || output.Erased);
    }

    private async Task<(string? Text, bool Erased)> OpenAsync(TraceRecord trace, byte[]? blob, string field, CancellationToken cancellationToken)
    {
        if (blob is null)
        {
            return (null, false);
        }

        var context = Context(trace.TenantId, trace.Id, field);
        if (ContentCipher.KeyIdOf(blob) is not { } keyId)
        {
            return (Encoding.UTF8.GetString(encryption.Decrypt(blob, context)), false);
        }

        return await keys.FindAsync(data, trace.TenantId, keyId, cancellationToken).ConfigureAwait(false) is { } key
            ? (Encoding.UTF8.GetString(ContentCipher.Open(key.Material, blob, context)), false)
            : (null, true);
    }
}
