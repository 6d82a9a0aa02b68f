using System.Security.Cryptography;
using System.Text;
using App.Application;
using App.Application.Audit;
using App.Application.Identity;
using App.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace App.Infrastructure.Identity;

/// <summary>
/// Invitations into a tenant. A code is <c>inv_</c> and 256 random bits; only its SHA-256 is stored. It can be
/// accepted once (a conditional update in the sign-up's transaction, so two sign-ups racing for one code make one
/// user) and not after it expires. Creating one and accepting one are both recorded in the tenant's audit chain.
/// </summary>
public sealed partial class Invitations(
    IDbContextFactory<AppDbContext> databases,
    TenantData tenantData,
    IAuditLog audit,
    TimeProvider time,
    ILogger<Invitations> logger)
{
    public const string Prefix = "inv_";

    /// <summary>The longest an invitation may stay open.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(30);

    /// <summary>The shortest: long enough to pass the code on.</summary>
    public static readonly TimeSpan MinLifetime = TimeSpan.FromMinutes(5);

    /// <summary>How long an invitation stays open unless its creator says otherwise.</summary>
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromDays(7);

    /// <summary>
    /// An invitation into a tenant, by one of its administrators (<paramref name="actor"/>) or an operator. The
    /// tenant's row is created if it has none yet: a tenant of an external issuer exists only in its tokens, and an
    /// operator's invitation is how a tenant starts when sign-up is invite-only (its first user becomes its
    /// administrator by the scopes the invitation grants).
    /// </summary>
    public async Task<IssuedInvitation> CreateAsync(string tenantId, IReadOnlyCollection<string> scopes, TimeSpan validFor, string actor, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        ArgumentNullException.ThrowIfNull(scopes);
        if (validFor < MinLifetime || validFor > MaxLifetime)
        {
            throw new ArgumentOutOfRangeException(nameof(validFor), validFor, $"An invitation is valid for {MinLifetime} to {MaxLifetime}.");
        }

        if (Scopes.Unknown(scopes) is [var unknown, ..])
        {
            throw new ArgumentException($"'{unknown}' is not a known scope.", nameof(scopes));
        }

        var now = time.GetUtcNow();
        var code = Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var invitation = new Invitation
        {
            Id = Uuid.NewVersion7(),
            TenantId = tenantId,
            CodeHash = Hash(code)!,
            Scopes = string.Join(' ', scopes.Distinct(StringComparer.Ordinal)),
            CreatedBy = actor,
            CreatedAt = now,
            ExpiresAt = now + validFor,
        };
        await tenantData.WriteAsync(tenantId, async db =>
        {
            await db.Database.ExecuteSqlAsync($"INSERT INTO app.tenants (id, name, created_at) VALUES ({tenantId}, {tenantId}, {now}) ON CONFLICT (id) DO NOTHING", cancellationToken).ConfigureAwait(false);
            db.Invitations.Add(invitation);
        }, cancellationToken).ConfigureAwait(false);

        LogCreated(tenantId, invitation.Id, actor);
        await audit.AppendAsync(tenantId, AuditKinds.InvitationCreated, actor, invitation.Id.ToString(), new { scopes = invitation.Scopes, expiresAt = invitation.ExpiresAt }, cancellationToken).ConfigureAwait(false);
        return new IssuedInvitation(invitation.Id, code, tenantId, Scopes.Parse(invitation.Scopes), invitation.ExpiresAt);
    }

    /// <summary>The tenant's invitations, newest first (codes are not kept, so none is shown).</summary>
    public Task<List<Invitation>> ListAsync(string tenantId, CancellationToken cancellationToken) =>
        tenantData.ReadAsync(tenantId, db => db.Invitations.AsNoTracking().OrderByDescending(i => i.CreatedAt).ThenByDescending(i => i.Id).Take(500).ToListAsync(cancellationToken), cancellationToken);

    /// <summary>
    /// Withdraws an invitation nobody has accepted yet: it expires now. False if the tenant has no such open
    /// invitation (unknown, accepted or expired already).
    /// </summary>
    public async Task<bool> RevokeAsync(string tenantId, Guid invitationId, string actor, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var revoked = await tenantData.ChangeAsync(tenantId, db => Open(db, invitationId, now).ExecuteUpdateAsync(s => s.SetProperty(i => i.ExpiresAt, now), cancellationToken), cancellationToken).ConfigureAwait(false);
        if (revoked == 0)
        {
            return false;
        }

        await audit.AppendAsync(tenantId, AuditKinds.InvitationRevoked, actor, invitationId.ToString(), null, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>The invitation a code names, if it can still be accepted; null for anything else, alike.</summary>
    public async Task<Invitation?> FindOpenAsync(string? code, CancellationToken cancellationToken)
    {
        if (Hash(code) is not { } hash)
        {
            return null;
        }

        string? tenant;
        await using (var lookup = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false))
        {
            tenant = await lookup.TenantOfInvitationAsync(hash, cancellationToken).ConfigureAwait(false);
        }

        var now = time.GetUtcNow();
        return tenant is null
            ? null
            : await tenantData.ReadAsync(tenant, db => db.Invitations.AsNoTracking().Where(i => i.CodeHash == hash && i.AcceptedAt == null && i.ExpiresAt > now).SingleOrDefaultAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Marks the invitation accepted by <paramref name="userId"/> inside the caller's unit of work (bound to its
    /// tenant). Returns its scopes, or null if it was accepted meanwhile or has expired.
    /// </summary>
    public async Task<string?> AcceptAsync(AppDbContext db, Guid invitationId, Guid userId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var now = time.GetUtcNow();
        var accepted = await Open(db, invitationId, now)
            .ExecuteUpdateAsync(s => s.SetProperty(i => i.AcceptedAt, now).SetProperty(i => i.AcceptedBy, userId), cancellationToken)
            .ConfigureAwait(false);
        return accepted == 1
            ? await db.Invitations.Where(i => i.Id == invitationId).Select(i => i.Scopes).SingleAsync(cancellationToken).ConfigureAwait(false)
            : null;
    }

    /// <summary>The invitation, if nobody has accepted it and it has not expired.</summary>
    private static IQueryable<Invitation> Open(AppDbContext db, Guid invitationId, DateTimeOffset now) =>
        db.Invitations.Where(i => i.Id == invitationId && i.AcceptedAt == null && i.ExpiresAt > now);

    private static byte[]? Hash(string? code) =>
        code is { Length: > 8 and <= 100 } && code.StartsWith(Prefix, StringComparison.Ordinal) ? SHA256.HashData(Encoding.UTF8.GetBytes(code)) : null;

    [LoggerMessage(EventId = 1210, Level = LogLevel.Information, Message = "Invitation {InvitationId} into tenant {TenantId} created by {Actor}")]
    private partial void LogCreated(string tenantId, Guid invitationId, string actor);
}
