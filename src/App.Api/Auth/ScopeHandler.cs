using Microsoft.AspNetCore.Authorization;

namespace App.Api.Auth;

/// <summary>Passes when one of the <c>scope</c> claims (space-separated, RFC 9068) holds the scope.</summary>
internal sealed class ScopeHandler : AuthorizationHandler<ScopeRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        if (Caller.HasScope(context.User, requirement.Scope))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}
