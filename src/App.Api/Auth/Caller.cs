using System.Security.Claims;
using App.Application.Identity;
using App.Application.Traffic;

namespace App.Api.Auth;

/// <summary>
/// Who is calling, as the access token says: the tenant, the subject and the scopes. Endpoints take it as a
/// parameter (<see cref="BindAsync"/>) instead of reading claims themselves.
/// </summary>
/// <remarks>
/// A value read in one pass over the claims, with the scopes checked in place, so that binding it on the chat path
/// allocates nothing (<c>FindFirst</c> allocates a predicate per call, <c>FindAll</c> and a split a list each).
/// </remarks>
internal readonly struct Caller
{
    private readonly ClaimsPrincipal _user;

    private Caller(ClaimsPrincipal user, string? tenant, string? subject)
    {
        _user = user;
        TenantOrNull = tenant;
        Subject = subject;
    }

    /// <summary>The token's tenant, or null for a principal without one (only an anonymous one).</summary>
    public string? TenantOrNull { get; }

    /// <summary>The tenant whose data, limits and budget the call counts against.</summary>
    public string Tenant => TenantOrNull is { Length: > 0 } tenant
        ? tenant
        : throw new InvalidOperationException("An authenticated caller without a tenant reached an endpoint that needs one.");

    public string? Subject { get; }

    public bool IsAdmin => HasScope(Scopes.Admin);

    /// <summary>Every scope the token grants, in the order of its claims.</summary>
    public IReadOnlyList<string> HeldScopes => [.. _user.FindAll(TokenClaims.Scope).SelectMany(c => Scopes.Parse(c.Value))];

    /// <summary>The caller as limits and budgets count it.</summary>
    public UsageCaller Usage => new(Tenant, Subject ?? "-");

    public static Caller From(ClaimsPrincipal user)
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

        return new Caller(user, tenant, subject);
    }

    /// <summary>Binds the caller of a request as an endpoint parameter.</summary>
    public static ValueTask<Caller> BindAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return ValueTask.FromResult(From(context.User));
    }

    public bool HasScope(string scope) => HasScope(_user, scope);

    /// <summary>Whether one of the <c>scope</c> claims (space-separated, RFC 9068) holds <paramref name="scope"/>.</summary>
    internal static bool HasScope(ClaimsPrincipal user, string scope)
    {
        ArgumentNullException.ThrowIfNull(user);
        foreach (var identity in user.Identities)
        {
            foreach (var claim in identity.Claims)
            {
                if (string.Equals(claim.Type, TokenClaims.Scope, StringComparison.OrdinalIgnoreCase) && Scopes.Includes(claim.Value, scope))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
