using Microsoft.Extensions.AI;

namespace App.Application.Traffic;

/// <summary>Counts prompt tokens before a call, to reserve them against the token limits.</summary>
public interface ITokenEstimator
{
    long CountPrompt(IReadOnlyList<ChatMessage> messages);
}
