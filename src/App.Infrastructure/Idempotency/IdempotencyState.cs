namespace App.Infrastructure.Idempotency;

/// <summary>What the store says about a key: go ahead (claimed), replay a stored answer, or refuse.</summary>
public enum IdempotencyState
{
    Claimed,
    Replay,

    /// <summary>The key was used with another request (another body, method or path).</summary>
    Mismatch,

    /// <summary>A request with this key is still running.</summary>
    InProgress,
}
