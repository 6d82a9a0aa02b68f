namespace App.Infrastructure.Identity;

public enum RefreshOutcome
{
    Ok,

    /// <summary>Unknown, malformed, expired, revoked or belonging to a disabled user: all look the same to the client.</summary>
    Invalid,

    /// <summary>A used token was presented again: the whole family was revoked.</summary>
    ReuseDetected,
}
