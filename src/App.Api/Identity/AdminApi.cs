using System.Security.Claims;
using App.Api.Hosting;
using App.Application.Identity;
using App.Infrastructure.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace App.Api.Identity;

/// <summary>Tenant administration (scope <c>admin</c>), always within the caller's own tenant.</summary>
internal static class AdminApi
{
    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin").WithTags("Admin").RequireAuthorization(Scopes.Admin);
        group.MapPost("/users/{userId:guid}/disable", DisableUserAsync)
            .WithName("DisableUser")
            .WithSummary("Disables a user of your tenant and ends all their sessions at once.")
            .Idempotent();
        return group;
    }

    private static async Task<Results<NoContent, NotFound>> DisableUserAsync(Guid userId, ClaimsPrincipal caller, Sessions sessions, HttpContext context)
    {
        var tenant = caller.FindFirstValue(TokenClaims.Tenant)!;
        var actor = caller.FindFirstValue(TokenClaims.Subject) ?? "unknown";
        return await sessions.DisableUserAsync(tenant, userId, actor, context.RequestAborted) ? TypedResults.NoContent() : TypedResults.NotFound();
    }
}
