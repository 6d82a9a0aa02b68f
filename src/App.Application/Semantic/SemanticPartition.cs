using App.Application.Caching;
using Microsoft.Extensions.AI;

namespace App.Application.Semantic;

/// <summary>
/// The hard partition of the semantic cache: a similarity search runs only among entries whose partition key is the
/// same, and the key is the exact cache key (<see cref="CacheKey"/>: tenant scope, model alias, every forwarded option)
/// of the conversation without its last user message, with the embedding model and its dimensions. Another tenant,
/// another system prompt, other earlier turns, tools, response format, temperature or max_tokens is another
/// partition: nothing in it can ever be served.
/// </summary>
public static class SemanticPartition
{
    /// <summary>The partition key, or null when the request may not use the semantic cache at all.</summary>
    public static string? Compute(string prefix, int version, string scope, string alias, IReadOnlyList<ChatMessage> messages, ChatOptions options, SemanticCacheOptions rules, string embeddingModel, int dimensions)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rules);
        if (Question(messages, options, rules) is null)
        {
            return null;
        }

        var context = messages.Take(messages.Count - 1).ToList();
        return CacheKey.Compute($"{prefix}sem:{embeddingModel}:{dimensions}:", version, scope, alias, context, options);
    }

    /// <summary>
    /// The last user message, if the request is one the semantic cache may answer: short (at most
    /// <see cref="SemanticCacheOptions.MaxMessages"/> messages, a question of at most
    /// <see cref="SemanticCacheOptions.MaxQuestionChars"/>), with no tools, and deterministic unless configured otherwise.
    /// </summary>
    public static string? Question(IReadOnlyList<ChatMessage> messages, ChatOptions options, SemanticCacheOptions rules)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rules);
        if (messages.Count == 0 || messages.Count > rules.MaxMessages || messages[^1].Role != ChatRole.User)
        {
            return null;
        }

        if (options.Tools is { Count: > 0 } || options.ToolMode is not null || messages.Any(m => m.Role == ChatRole.Tool || m.Contents.Any(c => c is FunctionCallContent or FunctionResultContent)))
        {
            return null;
        }

        if (!rules.AllowNonDeterministic && !CacheKey.IsDeterministic(options))
        {
            return null;
        }

        var question = messages[^1].Text;
        return question.Length is > 0 && question.Length <= rules.MaxQuestionChars ? question : null;
    }
}
