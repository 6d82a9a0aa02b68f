using System.Text.Json.Serialization;
using App.Api.Auth;
using App.Api.Idempotency;
using App.Application.Identity;
using App.Infrastructure.Identity;
using App.Infrastructure.Persistence;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace App.Api.Identity;

/// <summary>
/// Tenant administration (scope <c>admin</c>), always within the caller's own tenant: its users, their scopes,
/// invitations into it. An administrator grants only scopes they hold, and does not change their own.
/// </summary>
internal static class AdminApi
{
    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin").WithTags("Admin").RequireAuthorization(Scopes.Admin);
        group.MapGet("/users", ListUsersAsync)
            .WithName("ListUsers")
            .WithSummary("The users of your tenant, with their scopes.");
        group.MapPut("/users/{userId:guid}/scopes", ChangeScopesAsync)
            .WithName("ChangeUserScopes")
            .WithSummary("Sets a user's scopes and ends their sessions; their next sign-in gets the new scopes.");
        group.MapPost("/users/{userId:guid}/disable", DisableUserAsync)
            .WithName("DisableUser")
            .WithSummary("Disables a user of your tenant and ends all their sessions at once.")
            .Idempotent();
        group.MapPost("/invitations", InviteAsync)
            .WithName("CreateInvitation")
            .WithSummary("Creates an invitation into your tenant: its code signs one new user up, with the scopes given.");
        group.MapGet("/invitations", ListInvitationsAsync)
            .WithName("ListInvitations")
            .WithSummary("Your tenant's invitations, newest first, with whether each is open, accepted or expired.");
        group.MapDelete("/invitations/{invitationId:guid}", RevokeInvitationAsync)
            .WithName("RevokeInvitation")
            .WithSummary("Withdraws an invitation nobody has accepted: its code stops working at once.");
        return group;
    }

    public sealed record UserView(
        [property: JsonPropertyName("id")] Guid Id,
        [property: JsonPropertyName("user_name")] string UserName,
        [property: JsonPropertyName("display_name")] string DisplayName,
        [property: JsonPropertyName("scopes")] IReadOnlyList<string> Scopes,
        [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
        [property: JsonPropertyName("disabled_at")] DateTimeOffset? DisabledAt);

    public sealed record UserList([property: JsonPropertyName("data")] IReadOnlyList<UserView> Data);

    public sealed record ScopesRequest([property: JsonPropertyName("scopes")] string? Scopes);

    public sealed record InvitationRequest(
        [property: JsonPropertyName("scopes")] string? Scopes,
        [property: JsonPropertyName("expires_in")] int? ExpiresIn);

    public sealed record InvitationView(
        [property: JsonPropertyName("id")] Guid Id,
        [property: JsonPropertyName("code")] string Code,
        [property: JsonPropertyName("tenant")] string Tenant,
        [property: JsonPropertyName("scopes")] IReadOnlyList<string> Scopes,
        [property: JsonPropertyName("expires_at")] DateTimeOffset ExpiresAt);

    public sealed record InvitationSummary(
        [property: JsonPropertyName("id")] Guid Id,
        [property: JsonPropertyName("status")] string Status,
        [property: JsonPropertyName("scopes")] IReadOnlyList<string> Scopes,
        [property: JsonPropertyName("created_by")] string CreatedBy,
        [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
        [property: JsonPropertyName("expires_at")] DateTimeOffset ExpiresAt,
        [property: JsonPropertyName("accepted_at")] DateTimeOffset? AcceptedAt,
        [property: JsonPropertyName("accepted_by")] Guid? AcceptedBy);

    public sealed record InvitationList([property: JsonPropertyName("data")] IReadOnlyList<InvitationSummary> Data);

    private static async Task<Ok<InvitationList>> ListInvitationsAsync(Caller caller, Invitations invitations, TimeProvider time, HttpContext context)
    {
        var now = time.GetUtcNow();
        var list = await invitations.ListAsync(caller.Tenant, context.RequestAborted);
        return TypedResults.Ok(new InvitationList([.. list.Select(i => new InvitationSummary(
            i.Id, i.AcceptedAt is not null ? "accepted" : i.ExpiresAt > now ? "open" : "expired", Scopes.Parse(i.Scopes), i.CreatedBy, i.CreatedAt, i.ExpiresAt, i.AcceptedAt, i.AcceptedBy))]));
    }

    private static async Task<Results<NoContent, NotFound>> RevokeInvitationAsync(Guid invitationId, Caller caller, Invitations invitations, HttpContext context) =>
        await invitations.RevokeAsync(caller.Tenant, invitationId, caller.Subject ?? "unknown", context.RequestAborted)
            ? TypedResults.NoContent()
            : TypedResults.NotFound();

    private static async Task<Ok<UserList>> ListUsersAsync(Caller caller, TenantData data, HttpContext context)
    {
        var users = await data.ReadAsync(caller.Tenant, db => db.Users.AsNoTracking().OrderBy(u => u.CreatedAt).ThenBy(u => u.Id).ToListAsync(context.RequestAborted), context.RequestAborted);
        return TypedResults.Ok(new UserList([.. users.Select(View)]));
    }

    private static async Task<Results<Ok<UserView>, NotFound, ProblemHttpResult>> ChangeScopesAsync(
        Guid userId, ScopesRequest body, Caller caller, Sessions sessions, HttpContext context)
    {
        var actor = caller.Subject ?? "unknown";
        if (actor == userId.ToString())
        {
            return Invalid("userId", "urn:app:problem:own-scopes", "You cannot change your own scopes; ask another administrator.");
        }

        if (Grantable(body.Scopes, caller, out var scopes) is { } refused)
        {
            return refused;
        }

        return await sessions.ChangeScopesAsync(caller.Tenant, userId, scopes, actor, context.RequestAborted) is { } user
            ? TypedResults.Ok(View(user))
            : TypedResults.NotFound();
    }

    private static async Task<Results<NoContent, NotFound>> DisableUserAsync(Guid userId, Caller caller, Sessions sessions, HttpContext context)
    {
        return await sessions.DisableUserAsync(caller.Tenant, userId, caller.Subject ?? "unknown", context.RequestAborted) ? TypedResults.NoContent() : TypedResults.NotFound();
    }

    private static async Task<Results<Created<InvitationView>, ProblemHttpResult>> InviteAsync(
        InvitationRequest body, Caller caller, Invitations invitations, IOptions<AuthOptions> auth, HttpContext context)
    {
        var validFor = body.ExpiresIn is { } seconds ? TimeSpan.FromSeconds(seconds) : Invitations.DefaultLifetime;
        if (validFor < Invitations.MinLifetime || validFor > Invitations.MaxLifetime)
        {
            return Invalid("expires_in", "urn:app:problem:invalid-request", $"'expires_in' must be between {Invitations.MinLifetime.TotalSeconds} and {Invitations.MaxLifetime.TotalSeconds} seconds.");
        }

        if (Grantable(body.Scopes ?? auth.Value.DefaultScopes, caller, out var scopes) is { } refused)
        {
            return refused;
        }

        var issued = await invitations.CreateAsync(caller.Tenant, scopes, validFor, caller.Subject ?? "unknown", context.RequestAborted);
        // The code is shown once and is a credential: nothing on the way may keep it.
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Created((string?)null, new InvitationView(issued.Id, issued.Code, issued.TenantId, issued.Scopes, issued.ExpiresAt));
    }

    /// <summary>Null when every scope is known and held by the caller; else the refusal.</summary>
    private static ProblemHttpResult? Grantable(string? requested, Caller caller, out IReadOnlyList<string> scopes)
    {
        scopes = Scopes.Parse(requested);
        if (requested is null)
        {
            return Invalid("scopes", "urn:app:problem:invalid-request", "'scopes' is required: a space-separated list (it may be empty).");
        }

        if (Scopes.Unknown(scopes) is [var unknown, ..])
        {
            return Invalid("scopes", "urn:app:problem:invalid-request", $"'{unknown}' is not a known scope. Known: {string.Join(' ', Scopes.All)}.");
        }

        if (scopes.FirstOrDefault(s => !caller.HasScope(s)) is { } notHeld)
        {
            return TypedResults.Problem(statusCode: 403, type: "urn:app:problem:scope-not-held", title: "You cannot grant a scope you do not hold.", detail: $"'{notHeld}' is not among your scopes.");
        }

        return null;
    }

    private static UserView View(User u) => new(u.Id, u.UserName, u.DisplayName, Scopes.Parse(u.Scopes), u.CreatedAt, u.DisabledAt);

    private static ProblemHttpResult Invalid(string param, string type, string message) => TypedResults.Problem(
        statusCode: 400, type: type, title: "The request is invalid.", detail: message,
        extensions: new Dictionary<string, object?> { ["param"] = param });
}
