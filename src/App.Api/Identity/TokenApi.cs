using System.Globalization;
using System.Security.Claims;
using System.Text.Json.Serialization;
using App.Api.Auth;
using App.Application.Identity;
using App.Infrastructure.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace App.Api.Identity;

/// <summary>Session endpoints: refresh (rotating), logout, and who-am-I. Rate limited against brute force.</summary>
internal static class TokenApi
{
    public static RouteGroupBuilder MapTokenApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/auth").WithTags("Sessions").RequireRateLimiting(Authentication.RateLimitPolicy);
        group.MapPost("/refresh", RefreshAsync).AllowAnonymous()
            .WithName("RefreshSession").ProducesProblem(StatusCodes.Status401Unauthorized)
            .WithSummary("Exchanges a refresh token for a new access token and a new refresh token (the old one is spent).");
        group.MapPost("/logout", LogoutAsync).AllowAnonymous()
            .WithName("Logout")
            .WithSummary("Ends the session of the refresh token; its access tokens stop working within seconds.");
        group.MapGet("/me", Me)
            .WithName("WhoAmI")
            .WithSummary("The caller as the access token describes it.");
        return group;
    }

    public sealed record RefreshRequest([property: JsonPropertyName("refresh_token")] string? RefreshToken);

    public sealed record TokenResponse(
        [property: JsonPropertyName("access_token")] string AccessToken,
        [property: JsonPropertyName("token_type")] string TokenType,
        [property: JsonPropertyName("expires_in")] int ExpiresIn,
        [property: JsonPropertyName("refresh_token")] string RefreshToken,
        [property: JsonPropertyName("scope")] string Scope);

    public sealed record Caller(string Subject, string Tenant, IReadOnlyList<string> Scopes, string? Session, DateTimeOffset? ExpiresAt);

    public static TokenResponse ToResponse(TokenPair pair, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(pair);
        ArgumentNullException.ThrowIfNull(time);
        return new(pair.AccessToken, "Bearer", (int)Math.Max(0, (pair.AccessTokenExpiresAt - time.GetUtcNow()).TotalSeconds), pair.RefreshToken, string.Join(' ', pair.Scopes));
    }

    private static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> RefreshAsync(RefreshRequest body, Sessions sessions, TimeProvider time, HttpContext context)
    {
        var (outcome, pair) = await sessions.RefreshAsync(body.RefreshToken ?? string.Empty, context.RequestAborted);
        context.Response.Headers.CacheControl = "no-store";
        return outcome == RefreshOutcome.Ok
            ? TypedResults.Ok(ToResponse(pair!, time))
            : InvalidGrant();
    }

    private static async Task<NoContent> LogoutAsync(RefreshRequest body, Sessions sessions, HttpContext context)
    {
        await sessions.LogoutAsync(body.RefreshToken ?? string.Empty, context.RequestAborted);
        return TypedResults.NoContent();
    }

    private static Ok<Caller> Me(Auth.Caller caller, ClaimsPrincipal user) => TypedResults.Ok(new Caller(
        caller.Subject ?? string.Empty,
        caller.TenantOrNull ?? string.Empty,
        caller.HeldScopes,
        user.FindFirstValue(TokenClaims.Session),
        long.TryParse(user.FindFirstValue("exp"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var exp) ? DateTimeOffset.FromUnixTimeSeconds(exp) : null));

    // One answer for unknown, expired, revoked, reused: nothing to learn from the difference.
    private static ProblemHttpResult InvalidGrant() => TypedResults.Problem(
        statusCode: StatusCodes.Status401Unauthorized,
        title: "The refresh token is not valid.",
        detail: "Sign in again.",
        type: "urn:app:problem:invalid-grant");
}
