using App.Api.Auth;
using App.Application.Audit;
using App.Application.Identity;
using App.Infrastructure.Audit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace App.Api.Audit;

/// <summary><c>GET /v1/audit/verify</c>: walks your tenant's audit chain (and its checkpoints, when configured).</summary>
internal static class AuditApi
{
    public static RouteGroupBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/audit").WithTags("Audit").RequireAuthorization(Scopes.AuditRead);
        group.MapGet("/verify", VerifyAsync).WithName("VerifyAudit")
            .WithSummary("Checks every entry of your tenant's audit log against its hash chain and the written-out checkpoints.");
        return group;
    }

    private static async Task<Ok<AuditVerification>> VerifyAsync(Caller caller, AuditLog audit, IOptions<AuditOptions> options, HttpContext context)
    {
        var tenant = caller.Tenant;
        var file = options.Value.CheckpointFile;
        var result = string.IsNullOrWhiteSpace(file) || !File.Exists(file)
            ? await audit.VerifyAsync(tenant, context.RequestAborted)
            : await audit.VerifyAgainstAsync(tenant, AuditLog.ReadCheckpoints(file), context.RequestAborted);
        return TypedResults.Ok(result);
    }
}
