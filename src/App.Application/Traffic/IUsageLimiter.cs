namespace App.Application.Traffic;

/// <summary>
/// The port every model call passes before and after it runs: rate limits per user and model, tenant budgets,
/// usage accounting. Reserve from an estimate first, settle with what the call really used after.
/// </summary>
public interface IUsageLimiter
{
    /// <summary>Reserves one request and <paramref name="estimatedTokens"/> tokens, or says why not.</summary>
    ValueTask<Admission> AdmitAsync(UsageCaller caller, string model, long estimatedTokens, CancellationToken cancellationToken);

    /// <summary>
    /// Whether this caller's last admission on this instance, recently enough, left room for many more calls like
    /// it (see <see cref="TrafficOptions.OverlapAdmission"/>): a hint that the next admission will pass, never a
    /// decision.
    /// </summary>
    bool HasHeadroom(UsageCaller caller, string model);

    /// <summary>Replaces the reservation with the real usage. Never throws; an unsettled reservation expires with its window.</summary>
    ValueTask SettleAsync(Admission admission, CallUsage usage);

    /// <summary>A tenant's usage today and this month, with its budgets.</summary>
    Task<UsageReport> ReportAsync(string tenant, CancellationToken cancellationToken);
}
