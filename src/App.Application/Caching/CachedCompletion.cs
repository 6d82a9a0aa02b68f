namespace App.Application.Caching;

/// <summary>A completed answer as the cache stores it: enough to replay it as JSON or as a stream.</summary>
public sealed record CachedCompletion(
    string Text,
    string FinishReason,
    string Model,
    long InputTokens,
    long OutputTokens,
    DateTimeOffset CreatedAt);
