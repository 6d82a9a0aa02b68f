namespace App.Infrastructure.Identity;

/// <summary><c>Passkeys</c>: the WebAuthn relying party.</summary>
public sealed class PasskeyOptions
{
    public const string Section = "Passkeys";

    /// <summary>The RP ID: the registrable domain the passkeys are bound to (not an IP address).</summary>
    public string RelyingPartyId { get; init; } = "localhost";

    public string RelyingPartyName { get; init; } = "App";

    /// <summary>Exact origins the ceremonies may come from (scheme, host and port).</summary>
    public List<string> Origins { get; init; } = ["http://localhost:5080"];

    /// <summary>How long a ceremony's challenge can be answered; it can be answered once.</summary>
    public TimeSpan CeremonyTimeout { get; init; } = TimeSpan.FromMinutes(2);
}
