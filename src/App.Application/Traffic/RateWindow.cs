namespace App.Application.Traffic;

/// <summary>One rate-limit window as told to the client: its quota, what is left and when it is whole again.</summary>
public readonly record struct RateWindow(long Limit, long Remaining, TimeSpan Reset);
