namespace App.Application.Identity;

/// <summary>
/// Tenant ids the service keeps for itself. No sign-up can create one (tenant ids there are lower-case letters, digits
/// and '-') and a token from an external issuer that names one is refused (<see cref="ExternalClaims"/>).
/// </summary>
public static class ReservedTenants
{
    /// <summary>
    /// The calls the service makes to itself before it reports ready, to compile its request path: they store no
    /// trace (the writer's inserts for it are rolled back), count against no limit or budget, and are left out of the
    /// HTTP metrics and the request log.
    /// </summary>
    public const string WarmUp = "_warm-up";

    public static bool IsWarmUp(string? tenant) => string.Equals(tenant, WarmUp, StringComparison.Ordinal);
}
