using Microsoft.ML.Tokenizers;

namespace App.Infrastructure.Traces;

/// <summary>
/// Counts tokens when the provider did not report usage (some OpenAI-compatible servers omit it on streams), with
/// the o200k_base encoding of the GPT-4o family: exact for those models, a close estimate for others. Message
/// framing follows OpenAI's accounting (a few tokens per message and for the reply's priming).
/// </summary>
public static class TokenCounter
{
    private const int PerMessage = 3;
    private const int ReplyPriming = 3;
    private static readonly Lazy<Tokenizer> Encoding = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));

    public static int Count(string text) => Encoding.Value.CountTokens(text);

    /// <summary>Input tokens of a prompt written as "role: text" lines, one message per line block.</summary>
    public static int CountPrompt(IEnumerable<(string Role, string Text)> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return messages.Sum(m => PerMessage + Count(m.Role) + Count(m.Text)) + ReplyPriming;
    }
}
