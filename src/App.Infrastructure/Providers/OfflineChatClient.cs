using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.AI;

namespace App.Infrastructure.Providers;

/// <summary>
/// The built-in model: no network, no key, and the same answer for the same request and seed, so the service
/// runs out of the box and tests can assert exact output. It honours what a real model would: max tokens
/// (finish reason <c>length</c>), stop sequences, <c>json_object</c> and <c>json_schema</c> response formats
/// (it emits an instance of the schema), streams token by token and reports usage. Its prose is not meant to
/// mean anything.
/// </summary>
public sealed class OfflineChatClient(string model, TimeSpan tokenDelay, TimeProvider time) : IChatClient
{
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        var answer = Generate(list, options);
        if (tokenDelay > TimeSpan.Zero)
        {
            await Task.Delay(tokenDelay * answer.Tokens.Count, time, cancellationToken).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, answer.Text))
        {
            ModelId = model,
            ResponseId = answer.Id,
            CreatedAt = time.GetUtcNow(),
            FinishReason = answer.Finish,
            Usage = answer.Usage,
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        var answer = Generate(list, options);
        var created = time.GetUtcNow();
        foreach (var token in answer.Tokens)
        {
            if (tokenDelay > TimeSpan.Zero)
            {
                await Task.Delay(tokenDelay, time, cancellationToken).ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            yield return new ChatResponseUpdate(ChatRole.Assistant, token) { ModelId = model, ResponseId = answer.Id, CreatedAt = created };
        }

        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            ModelId = model,
            ResponseId = answer.Id,
            CreatedAt = created,
            FinishReason = answer.Finish,
            Contents = [new UsageContent(answer.Usage)],
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType?.IsInstanceOfType(this) == true ? this : null;

    public void Dispose()
    {
    }

    /// <summary>Counts tokens the way the offline model does: words, numbers and single punctuation marks.</summary>
    public static int CountTokens(string text) => Tokenize(text).Count;

    internal sealed record Answer(string Id, string Text, IReadOnlyList<string> Tokens, ChatFinishReason Finish, UsageDetails Usage);

    internal Answer Generate(IReadOnlyList<ChatMessage> messages, ChatOptions? options)
    {
        var rng = new SplitMix64(SeedFrom(messages, options));
        var full = options?.ResponseFormat switch
        {
            ChatResponseFormatJson { Schema: { } schema } => OfflineComposer.JsonInstance(schema, ref rng),
            ChatResponseFormatJson => OfflineComposer.JsonObject(messages, ref rng),
            _ => OfflineComposer.Prose(messages, ref rng),
        };

        var finish = ChatFinishReason.Stop;
        if (options?.StopSequences is { Count: > 0 } stops)
        {
            var cut = stops.Select(s => full.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
            if (cut >= 0)
            {
                full = full[..cut];
            }
        }

        var tokens = Tokenize(full);
        if (options?.MaxOutputTokens is { } max && tokens.Count > max)
        {
            tokens = tokens.GetRange(0, max);
            finish = ChatFinishReason.Length;
        }

        var text = string.Concat(tokens);
        long input = 3 + messages.Sum(m => 4L + CountTokens(m.Text));
        var usage = new UsageDetails { InputTokenCount = input, OutputTokenCount = tokens.Count, TotalTokenCount = input + tokens.Count };
        var id = "chatcmpl-off" + rng.Next().ToString("x16", CultureInfo.InvariantCulture);
        return new Answer(id, text, tokens, finish, usage);
    }

    private long SeedFrom(IReadOnlyList<ChatMessage> messages, ChatOptions? options)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string? s)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(s ?? "\0"));
            hash.AppendData([0x1f]);
        }

        Add(model);
        foreach (var m in messages)
        {
            Add(m.Role.Value);
            Add(m.AuthorName);
            Add(m.Text);
        }

        Add(options?.Seed?.ToString(CultureInfo.InvariantCulture));
        Add(options?.Temperature?.ToString("R", CultureInfo.InvariantCulture));
        Add(options?.TopP?.ToString("R", CultureInfo.InvariantCulture));
        if (options?.ResponseFormat is ChatResponseFormatJson json)
        {
            Add(json.Schema?.GetRawText() ?? "json");
        }

        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return BitConverter.ToInt64(digest);
    }

    /// <summary>Splits text into model-like tokens: an optional leading space plus a run of letters/digits or one other character.</summary>
    internal static List<string> Tokenize(string text)
    {
        var tokens = new List<string>(text.Length / 4 + 1);
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            if (text[i] == ' ' && i + 1 < text.Length && text[i + 1] != ' ')
            {
                i++;
            }

            if (char.IsLetterOrDigit(text[i]))
            {
                while (i < text.Length && char.IsLetterOrDigit(text[i]))
                {
                    i++;
                }
            }
            else
            {
                i++;
            }

            tokens.Add(text[start..i]);
        }

        return tokens;
    }
}
