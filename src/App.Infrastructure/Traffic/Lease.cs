namespace App.Infrastructure.Traffic;

/// <summary>
/// Calls of one caller, model and minute counted in Redis ahead of time, for this instance to admit without a
/// round trip: what is left of them, and what the limits had left when Redis granted them (for the headers).
/// </summary>
internal sealed class Lease(long window, string requestKey, string tokenKey, long requests)
{
    public long Window { get; } = window;

    /// <summary>Calls granted (merged leases: the calls held when they merged); half used, the next is asked for.</summary>
    public long Size { get; set; } = requests;

    public long Requests { get; set; } = requests;

    public string RequestKey { get; } = requestKey;

    public string TokenKey { get; } = tokenKey;

    public long Until { get; set; }

    public long Tokens { get; set; }

    public long RequestsLeft { get; set; }

    public long TokensLeft { get; set; }
}
