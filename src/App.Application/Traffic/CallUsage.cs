namespace App.Application.Traffic;

/// <summary>What a call used. Cache hits use tokens but cost nothing and do not count against the provider limits.</summary>
public readonly record struct CallUsage(long InputTokens, long OutputTokens, bool Cached)
{
    public static readonly CallUsage None = new(0, 0, false);
}
