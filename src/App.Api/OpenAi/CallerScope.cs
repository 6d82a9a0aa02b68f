using System.Security.Claims;
using App.Application.Identity;

namespace App.Api.OpenAi;

/// <summary>Whose cache partition a request falls in: the tenant named by the access token.</summary>
internal static class CallerScope
{
    /// <summary>
    /// Whose call it is: the token's tenant and subject (whose limits, budget and traces the call counts against),
    /// read in one pass over the claims (<c>FindFirst</c> allocates a predicate on every call).
    /// </summary>
    public static (string Tenant, string? Subject) Read(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        string? tenant = null, subject = null;
        foreach (var identity in user.Identities)
        {
            foreach (var claim in identity.Claims)
            {
                if (tenant is null && string.Equals(claim.Type, TokenClaims.Tenant, StringComparison.OrdinalIgnoreCase))
                {
                    tenant = claim.Value;
                }
                else if (subject is null && string.Equals(claim.Type, TokenClaims.Subject, StringComparison.OrdinalIgnoreCase))
                {
                    subject = claim.Value;
                }
            }
        }

        return tenant is { Length: > 0 }
            ? (tenant, subject)
            : throw new InvalidOperationException("An authenticated caller without a tenant reached the gateway.");
    }
}
