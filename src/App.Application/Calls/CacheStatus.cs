namespace App.Application.Calls;

/// <summary>What the response cache did for a call.</summary>
public enum CacheStatus
{
    Bypass,
    Miss,
    Hit,

    /// <summary>Answered with the entry of a paraphrase of the question, in the same partition (the semantic cache).</summary>
    SemanticHit,
}
