using App.Api.Auth;
using App.Application.Identity;
using App.Infrastructure.Privacy;
using Microsoft.AspNetCore.Http.HttpResults;

namespace App.Api.Traces;

/// <summary>
/// <c>DELETE /admin/content</c> (scope <c>admin</c>): erases the caller's tenant's stored content by destroying its
/// data keys, and records it in the tenant's audit chain. Asking again once nothing is left answers the same record.
/// </summary>
internal static class ErasureApi
{
    public static RouteGroupBuilder MapErasureApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin").WithTags("Admin").RequireAuthorization(Scopes.Admin);
        group.MapDelete("/content", EraseAsync)
            .WithName("EraseTenantContent")
            .WithSummary("Makes every stored trace content of your tenant unreadable, for good, by destroying its data keys.");
        return group;
    }

    private static async Task<Ok<ErasureRecord>> EraseAsync(Caller caller, TenantErasure erasure, HttpContext context)
    {
        // Not cut short by a client that leaves: once keys are destroyed, every instance must hear of it.
        var record = await erasure.EraseAsync(caller.Tenant, caller.Subject ?? "unknown", CancellationToken.None);
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(record);
    }
}
