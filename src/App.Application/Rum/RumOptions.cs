namespace App.Application.Rum;

/// <summary>Real-user monitoring: what the demo page measures in the browser and sends to <c>POST /rum</c>.</summary>
public sealed class RumOptions
{
    public const string Section = "Rum";

    /// <summary>Off: <c>POST /rum</c> is not mapped, so the page's beacon is refused like any path the service does not serve.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Beacons accepted per minute from one client address, counted by each instance on its own.</summary>
    public int PermitsPerMinute { get; init; } = 12;
}
