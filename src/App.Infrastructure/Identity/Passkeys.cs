using System.Security.Cryptography;
using System.Text.Json;
using App.Application;
using App.Application.Audit;
using App.Application.Identity;
using App.Infrastructure.Persistence;
using Fido2NetLib;
using Fido2NetLib.Objects;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace App.Infrastructure.Identity;

/// <summary>
/// Passkey registration and sign-in (Fido2 4.x). User verification is required; challenges are 256 bits,
/// kept in Redis for <see cref="PasskeyOptions.CeremonyTimeout"/> and consumed on first use (GETDEL), so a
/// replayed response finds nothing. Sign counters must grow (a clone is refused); backup eligibility must stay what
/// it was at registration, and the backup state is stored as each sign-in reports it.
/// Sign-up either creates a new tenant with its first user (an admin), when sign-up is open, or, with an
/// invitation's code, joins the invitation's tenant with the scopes it grants (in either mode).
/// </summary>
public sealed partial class Passkeys(
    IFido2 fido2,
    IConnectionMultiplexer redis,
    IDbContextFactory<AppDbContext> databases,
    TenantData tenantData,
    Sessions sessions,
    Invitations invitations,
    IAuditLog audit,
    IOptions<PasskeyOptions> passkeyOptions,
    IOptions<AuthOptions> authOptions,
    TimeProvider time,
    ILogger<Passkeys> logger)
{
    private const string Prefix = "auth:ceremony:";

    private sealed record Registration(string Tenant, string UserName, string DisplayName, string OptionsJson, Guid? Invitation = null);

    private sealed record SignIn(string OptionsJson);

    /// <summary>
    /// Starts a sign-up: into a new tenant named <paramref name="tenant"/>, or, with <paramref name="invitationCode"/>,
    /// into the invitation's tenant (<paramref name="tenant"/> may then be omitted, and must match if given).
    /// </summary>
    public async Task<(PasskeyFailure Failure, CeremonyStart? Start)> BeginRegistrationAsync(string? tenant, string? invitationCode, string userName, string displayName, CancellationToken cancellationToken)
    {
        Guid? invitationId = null;
        if (invitationCode is not null)
        {
            if (await invitations.FindOpenAsync(invitationCode, cancellationToken).ConfigureAwait(false) is not { } invitation
                || (tenant is not null && tenant != invitation.TenantId))
            {
                LogRejected("registration", "invitation unknown, used, expired or for another tenant");
                return (PasskeyFailure.InvitationInvalid, null);
            }

            tenant = invitation.TenantId;
            invitationId = invitation.Id;
            if (await tenantData.ReadAsync(tenant, db => db.Users.AnyAsync(u => u.UserName == userName, cancellationToken), cancellationToken).ConfigureAwait(false))
            {
                return (PasskeyFailure.UserNameTaken, null);
            }
        }
        else
        {
            ArgumentException.ThrowIfNullOrEmpty(tenant);
            if (authOptions.Value.SignUp == SignUpMode.InviteOnly)
            {
                return (PasskeyFailure.SignUpClosed, null);
            }

            await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            if (await db.TenantExistsAsync(tenant, cancellationToken).ConfigureAwait(false))
            {
                return (PasskeyFailure.TenantExists, null);
            }
        }

        var options = fido2.RequestNewCredential(new RequestNewCredentialParams
        {
            User = new Fido2User { Id = RandomNumberGenerator.GetBytes(32), Name = userName, DisplayName = displayName },
            ExcludeCredentials = [],
            AuthenticatorSelection = new AuthenticatorSelection
            {
                ResidentKey = ResidentKeyRequirement.Required,
                UserVerification = UserVerificationRequirement.Required,
            },
            AttestationPreference = AttestationConveyancePreference.None,
            PubKeyCredParams = [PubKeyCredParam.ES256, PubKeyCredParam.RS256],
        });
        var json = options.ToJson();
        return (PasskeyFailure.None, await StoreAsync(JsonSerializer.Serialize(new Registration(tenant, userName, displayName, json, invitationId)), json).ConfigureAwait(false));
    }

    public async Task<PasskeyResult> CompleteRegistrationAsync(string ceremonyId, AuthenticatorAttestationRawResponse response, CancellationToken cancellationToken)
    {
        if (await TakeAsync(ceremonyId).ConfigureAwait(false) is not { } stored
            || JsonSerializer.Deserialize<Registration>(stored) is not { } registration)
        {
            return PasskeyResult.Fail(PasskeyFailure.UnknownCeremony);
        }

        var options = CredentialCreateOptions.FromJson(registration.OptionsJson);
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        RegisteredPublicKeyCredential credential;
        try
        {
            credential = await fido2.MakeNewCredentialAsync(new MakeNewCredentialParams
            {
                AttestationResponse = response,
                OriginalOptions = options,
                IsCredentialIdUniqueToUserCallback = async (args, ct) => !await db.CredentialExistsAsync(args.CredentialId, ct).ConfigureAwait(false),
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Fido2VerificationException ex)
        {
            LogRejected("registration", ex.Message);
            return PasskeyResult.Fail(PasskeyFailure.Rejected, ex.Message);
        }

        var now = time.GetUtcNow();
        var userId = Uuid.NewVersion7();
        db.TenantId = registration.Tenant;
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        string scopes;
        if (registration.Invitation is { } invitationId)
        {
            // Accepted in this transaction: if the user cannot be created, the invitation stays open.
            if (await invitations.AcceptAsync(db, invitationId, userId, cancellationToken).ConfigureAwait(false) is not { } granted)
            {
                return PasskeyResult.Fail(PasskeyFailure.InvitationInvalid);
            }

            scopes = granted;
        }
        else
        {
            if (await db.Tenants.AnyAsync(t => t.Id == registration.Tenant, cancellationToken).ConfigureAwait(false))
            {
                return PasskeyResult.Fail(PasskeyFailure.TenantExists);
            }

            db.Tenants.Add(new Tenant { Id = registration.Tenant, Name = registration.Tenant, CreatedAt = now });

            // The first user of a tenant administers it.
            scopes = string.Join(' ', Scopes.Parse(authOptions.Value.DefaultScopes).Append(Scopes.Admin).Distinct(StringComparer.Ordinal));
        }

        var user = new User
        {
            Id = userId,
            TenantId = registration.Tenant,
            UserName = registration.UserName,
            DisplayName = registration.DisplayName,
            UserHandle = options.User.Id,
            Scopes = scopes,
            CreatedAt = now,
        };
        db.Users.Add(user);
        db.PasskeyCredentials.Add(new PasskeyCredential
        {
            Id = credential.Id,
            UserId = user.Id,
            TenantId = user.TenantId,
            PublicKey = credential.PublicKey,
            SignCount = credential.SignCount,
            AaGuid = credential.AaGuid,
            Transports = credential.Transports is { Length: > 0 } t ? string.Join(',', t) : null,
            BackupEligible = credential.IsBackupEligible,
            BackupState = credential.IsBackedUp,
            CreatedAt = now,
        });
        try
        {
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DbUpdateException)
        {
            // Someone else took the tenant, the user name or the credential between the check and the insert.
            return PasskeyResult.Fail(registration.Invitation is null ? PasskeyFailure.TenantExists : PasskeyFailure.UserNameTaken);
        }

        LogRegistered(user.TenantId, user.Id);
        if (registration.Invitation is { } accepted)
        {
            await audit.AppendAsync(user.TenantId, AuditKinds.UserJoined, user.Id.ToString(), user.Id.ToString(), new { user = user.UserName, invitation = accepted, scopes = user.Scopes }, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await audit.AppendAsync(user.TenantId, AuditKinds.TenantCreated, user.Id.ToString(), user.TenantId, new { user = user.UserName }, cancellationToken).ConfigureAwait(false);
        }
        return new PasskeyResult(PasskeyFailure.None, await sessions.StartAsync(user, cancellationToken).ConfigureAwait(false));
    }

    public async Task<CeremonyStart> BeginSignInAsync()
    {
        // Discoverable credentials: the authenticator offers the user's passkeys; nothing about accounts is revealed.
        var options = fido2.GetAssertionOptions(new GetAssertionOptionsParams
        {
            AllowedCredentials = [],
            UserVerification = UserVerificationRequirement.Required,
        });
        var json = options.ToJson();
        return await StoreAsync(JsonSerializer.Serialize(new SignIn(json)), json).ConfigureAwait(false);
    }

    public async Task<PasskeyResult> CompleteSignInAsync(string ceremonyId, AuthenticatorAssertionRawResponse response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (await TakeAsync(ceremonyId).ConfigureAwait(false) is not { } stored
            || JsonSerializer.Deserialize<SignIn>(stored) is not { } signIn)
        {
            return PasskeyResult.Fail(PasskeyFailure.UnknownCeremony);
        }

        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        if (await db.TenantOfCredentialAsync(response.RawId, cancellationToken).ConfigureAwait(false) is not { } tenant)
        {
            LogRejected("sign-in", "unknown credential");
            return PasskeyResult.Fail(PasskeyFailure.UnknownCredential);
        }

        db.TenantId = tenant;
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var credential = await db.PasskeyCredentials.SingleAsync(c => c.Id == response.RawId, cancellationToken).ConfigureAwait(false);

        var user = await db.Users.SingleAsync(u => u.Id == credential.UserId, cancellationToken).ConfigureAwait(false);
        VerifyAssertionResult verified;
        try
        {
            verified = await fido2.MakeAssertionAsync(new MakeAssertionParams
            {
                AssertionResponse = response,
                OriginalOptions = AssertionOptions.FromJson(signIn.OptionsJson),
                StoredPublicKey = credential.PublicKey,
                StoredSignatureCounter = (uint)credential.SignCount,
                IsUserHandleOwnerOfCredentialIdCallback = (args, _) => Task.FromResult(args.UserHandle.AsSpan().SequenceEqual(user.UserHandle)),
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Fido2VerificationException ex)
        {
            LogRejected("sign-in", ex.Message);
            return PasskeyResult.Fail(PasskeyFailure.Rejected, ex.Message);
        }

        // Backup eligibility is fixed when a credential is made (WebAuthn 6.1.3): a change means another authenticator.
        // The flags byte follows the 32-byte RP ID hash; the signature just verified covers it.
        const byte backupEligibleFlag = 0x08;
        var backupEligible = (response.Response.AuthenticatorData[32] & backupEligibleFlag) != 0;
        if (backupEligible != credential.BackupEligible)
        {
            LogRejected("sign-in", "backup eligibility differs from the credential's");
            return PasskeyResult.Fail(PasskeyFailure.Rejected);
        }

        if (user.DisabledAt is not null)
        {
            return PasskeyResult.Fail(PasskeyFailure.UserDisabled);
        }

        credential.SignCount = verified.SignCount;
        credential.BackupState = verified.IsBackedUp;
        credential.LastUsedAt = time.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        LogSignedIn(user.TenantId, user.Id);
        await audit.AppendAsync(user.TenantId, AuditKinds.SignedIn, user.Id.ToString(), null, new { method = "passkey", backedUp = verified.IsBackedUp }, cancellationToken).ConfigureAwait(false);
        return new PasskeyResult(PasskeyFailure.None, await sessions.StartAsync(user, cancellationToken).ConfigureAwait(false));
    }

    private async Task<CeremonyStart> StoreAsync(string state, string optionsJson)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        await redis.GetDatabase().StringSetAsync(Prefix + id, state, passkeyOptions.Value.CeremonyTimeout).ConfigureAwait(false);
        return new CeremonyStart(id, optionsJson);
    }

    // GETDEL: the first answer consumes the challenge; a replay finds nothing.
    private async Task<string?> TakeAsync(string ceremonyId) =>
        ceremonyId is { Length: 32 } && ceremonyId.All(char.IsAsciiHexDigitLower)
            ? (string?)await redis.GetDatabase().StringGetDeleteAsync(Prefix + ceremonyId).ConfigureAwait(false)
            : null;

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Passkey registered: user {UserId} of tenant {TenantId}")]
    private partial void LogRegistered(string tenantId, Guid userId);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "Passkey sign-in: user {UserId} of tenant {TenantId}")]
    private partial void LogSignedIn(string tenantId, Guid userId);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "Passkey {Ceremony} rejected: {Reason}")]
    private partial void LogRejected(string ceremony, string reason);
}
