using App.Application.Traffic;
using Microsoft.Extensions.AI;

namespace App.Infrastructure.Traffic;

/// <summary>
/// The token limits' estimate before a call: one token per three characters (English averages about four, so
/// this errs high, which is the safe side for a reservation) plus OpenAI's framing per message. Not the tokenizer:
/// the estimate is on every request's path and is replaced by the real count when the call is settled, and the
/// o200k vocabulary costs tens of megabytes and microseconds per message.
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
