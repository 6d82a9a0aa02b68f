using System.Text.Json.Serialization;
using App.Api.Auth;
using App.Application.Identity;
using App.Infrastructure.Identity;
using Fido2NetLib;
using Microsoft.AspNetCore.Http.HttpResults;

namespace App.Api.Identity;

/// <summary>
/// Passkey ceremonies: sign up (a new tenant and its first user, or a new user of the tenant an invitation names)
/// and sign in. Each ceremony is two calls: get
/// the options (with a single-use challenge) for <c>navigator.credentials.create/get</c>, then post the
/// authenticator's answer back and receive an access token and a refresh token.
/// </summary>
internal static class PasskeyApi
{
    public static RouteGroupBuilder MapPasskeyApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/auth/passkeys").WithTags("Passkeys").AllowAnonymous().RequireRateLimiting(Authentication.RateLimitPolicy);
        group.MapPost("/register/options", BeginRegistrationAsync).WithName("BeginPasskeyRegistration")
            .Produces(StatusCodes.Status200OK, contentType: "application/json").ProducesProblem(StatusCodes.Status401Unauthorized)
            .WithSummary("Starts a sign-up with a passkey: a new tenant and its first user, or, with an invitation, a new user of its tenant.");
        group.MapPost("/register", CompleteRegistrationAsync).WithName("CompletePasskeyRegistration").ProducesProblem(StatusCodes.Status401Unauthorized)
            .WithSummary("Verifies the new passkey, creates the user (and the tenant, without an invitation), and starts a session.");
        group.MapPost("/login/options", BeginSignInAsync).WithName("BeginPasskeySignIn")
            .WithSummary("Starts a sign-in with a discoverable passkey.");
        group.MapPost("/login", CompleteSignInAsync).WithName("CompletePasskeySignIn").ProducesProblem(StatusCodes.Status401Unauthorized)
            .WithSummary("Verifies the passkey assertion and starts a session.");
        return group;
    }

    public sealed record RegistrationRequest(
        [property: JsonPropertyName("tenant")] string? Tenant,
        [property: JsonPropertyName("userName")] string? UserName,
        [property: JsonPropertyName("displayName")] string? DisplayName,
        [property: JsonPropertyName("invitation")] string? Invitation = null);

    public sealed record Answer<T>(
        [property: JsonPropertyName("ceremonyId")] string? CeremonyId,
        [property: JsonPropertyName("credential")] T? Credential);

    private static async Task<IResult> BeginRegistrationAsync(RegistrationRequest body, Passkeys passkeys, HttpContext context)
    {
        var errors = new Dictionary<string, string[]>();
        // With an invitation the tenant is the invitation's (and may be omitted); without one it is the tenant to create.
        if ((body.Invitation is null || body.Tenant is not null) && !Tenant.IsValidId(body.Tenant))
        {
            errors["tenant"] = ["3-64 lower-case letters, digits or '-'."];
        }

        if (body.Invitation is { Length: 0 or > 100 })
        {
            errors["invitation"] = ["An invitation code, as its administrator received it."];
        }

        if (body.UserName is not { Length: >= 1 and <= 64 } || body.UserName.Any(char.IsControl))
        {
            errors["userName"] = ["1-64 characters."];
        }

        if (body.DisplayName is { Length: > 200 } || body.DisplayName?.Any(char.IsControl) == true)
        {
            errors["displayName"] = ["At most 200 characters."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, type: "urn:app:problem:invalid-request");
        }

        var (failure, start) = await passkeys.BeginRegistrationAsync(body.Tenant, body.Invitation, body.UserName!, body.DisplayName ?? body.UserName!, context.RequestAborted);
        return failure switch
        {
            PasskeyFailure.None => Ceremony(start!),
            _ => Problem(failure),
        };
    }

    private static Task<Results<Ok<TokenApi.TokenResponse>, ProblemHttpResult>> CompleteRegistrationAsync(
        Answer<AuthenticatorAttestationRawResponse> body, Passkeys passkeys, TimeProvider time, HttpContext context) =>
        FinishAsync(body, (id, credential, ct) => passkeys.CompleteRegistrationAsync(id, credential, ct), time, context);

    private static async Task<IResult> BeginSignInAsync(Passkeys passkeys) => Ceremony(await passkeys.BeginSignInAsync());

    private static Task<Results<Ok<TokenApi.TokenResponse>, ProblemHttpResult>> CompleteSignInAsync(
        Answer<AuthenticatorAssertionRawResponse> body, Passkeys passkeys, TimeProvider time, HttpContext context) =>
        FinishAsync(body, (id, credential, ct) => passkeys.CompleteSignInAsync(id, credential, ct), time, context);

    private static async Task<Results<Ok<TokenApi.TokenResponse>, ProblemHttpResult>> FinishAsync<T>(
        Answer<T> body, Func<string, T, CancellationToken, Task<PasskeyResult>> complete, TimeProvider time, HttpContext context)
    {
        if (body.CeremonyId is null || body.Credential is null)
        {
            return Problem(PasskeyFailure.Rejected, "ceremonyId and credential are required.");
        }

        var result = await complete(body.CeremonyId, body.Credential, context.RequestAborted);
        context.Response.Headers.CacheControl = "no-store";
        return result.Tokens is { } tokens ? TypedResults.Ok(TokenApi.ToResponse(tokens, time)) : Problem(result.Failure);
    }

    // The options are Fido2's own JSON (base64url byte fields), passed through untouched.
    private static ContentHttpResult Ceremony(CeremonyStart start) =>
        TypedResults.Text($$"""{"ceremonyId":"{{start.CeremonyId}}","options":{{start.OptionsJson}}}""", "application/json");

    // Failures of the cryptographic checks all read the same: the details are logged, not returned.
    private static ProblemHttpResult Problem(PasskeyFailure failure, string? detail = null) => failure switch
    {
        PasskeyFailure.SignUpClosed => TypedResults.Problem(statusCode: 403, type: "urn:app:problem:sign-up-closed", title: "Sign-up is by invitation only.", detail: "Sign up with the code of an invitation."),
        PasskeyFailure.InvitationInvalid => TypedResults.Problem(statusCode: 400, type: "urn:app:problem:invitation-invalid", title: "The invitation is unknown, expired or already used.", detail: "Ask for a new one."),
        PasskeyFailure.UserNameTaken => TypedResults.Problem(statusCode: 409, type: "urn:app:problem:user-name-taken", title: "That user name is taken in this tenant.", detail: "Choose another."),
        PasskeyFailure.TenantExists => TypedResults.Problem(statusCode: 409, type: "urn:app:problem:tenant-exists", title: "That tenant already exists.", detail: "Ask one of its administrators for an invitation."),
        PasskeyFailure.UnknownCeremony => TypedResults.Problem(statusCode: 400, type: "urn:app:problem:ceremony-expired", title: "The ceremony is unknown, expired or already used.", detail: "Start again."),
        _ => TypedResults.Problem(statusCode: 401, type: "urn:app:problem:passkey-rejected", title: "The passkey was not accepted.", detail: detail is null ? null : "The authenticator's answer did not verify."),
    };
}
