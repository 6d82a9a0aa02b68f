namespace App.Application.Traffic;

/// <summary>What <see cref="IUsageLimiter.AdmitAsync"/> decided.</summary>
public enum AdmissionVerdict
{
    Admitted,

    /// <summary>Requests or tokens per minute used up; retry after the delay.</summary>
    RateLimited,

    /// <summary>The request alone needs more tokens per minute than the limit allows: it can never pass.</summary>
    TooLarge,

    /// <summary>A tenant budget (tokens or cost, day or month) is used up.</summary>
    BudgetExceeded,
}
