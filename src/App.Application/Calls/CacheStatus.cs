namespace App.Application.Calls;

/// <summary>What the response cache did for a call.</summary>
public enum CacheStatus
{
    Bypass,
    Miss,
    Hit,
}
