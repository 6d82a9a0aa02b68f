using App.Application.Traffic;
using Microsoft.Extensions.AI;

namespace App.Infrastructure.Traffic;

/// <summary>
/// The token limits' estimate before a call: a token per three characters, which errs high (the safe side for a
/// reservation), plus OpenAI's framing per message; not the tokenizer, because the estimate is on every request's
/// path, settling replaces it with the real count, and the tokenizer's vocabulary is large to hold and slow to run
/// (docs/benchmarks-history.md).
/// </summary>
internal sealed class CharacterTokenEstimator : ITokenEstimator
{
    public long CountPrompt(IReadOnlyList<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        long total = 3;
        foreach (var message in messages)
        {
            long chars = 0;
            foreach (var content in message.Contents)
            {
                if (content is TextContent text)
                {
                    chars += text.Text.Length;
                }
            }

            total += 4 + ((chars + 2) / 3);
        }

        return total;
    }
}
