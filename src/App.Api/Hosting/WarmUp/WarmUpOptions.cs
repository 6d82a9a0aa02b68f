namespace App.Api.Hosting.WarmUp;

/// <summary>
/// <c>WarmUp</c>: before it reports ready, the API sends requests to itself through its whole pipeline on a model that
/// needs no provider, until the runtime has compiled the request path (<see cref="SelfWarmUp"/>).
/// </summary>
public sealed class WarmUpOptions
{
    public const string Section = "WarmUp";

    public bool Enabled { get; init; } = true;

    /// <summary>The model alias the warm-up calls; it should be one served without a network call (the offline provider).</summary>
    public string Model { get; init; } = "offline";

    /// <summary>Requests in flight at once.</summary>
    public int Concurrency { get; init; } = 8;

    /// <summary>The warm-up ends once a second passes in which the runtime compiled fewer methods than this.</summary>
    public int SettledBelow { get; init; } = 20;

    /// <summary>It ends by this time however busy the compiler still is.</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromSeconds(8);
}
