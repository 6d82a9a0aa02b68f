using System.Security.Cryptography;
using System.Text;
using App.Application;
using App.Application.Audit;
using App.Application.Identity;
using App.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Identity;

/// <summary>
/// Sessions: a refresh-token family per sign-in. Refresh tokens are 256-bit random values, stored only as
/// SHA-256 hashes, rotated on every use, bounded by the family's absolute lifetime. Reuse of a rotated token
/// outside <see cref="AuthOptions.RefreshReuseGrace"/> revokes the family (RFC 9700, 4.14.2). Revoking a
/// family or disabling a user also ends the access tokens already out, through a short-lived revocation
/// marker in Redis that token validation checks (<see cref="RevocationList"/>).
/// </summary>
public sealed partial class Sessions(
    IDbContextFactory<AppDbContext> databases,
    AccessTokenIssuer issuer,
    RevocationList revocations,
    IAuditLog audit,
    IOptions<AuthOptions> options,
    TimeProvider time,
    ILogger<Sessions> logger)
{
    private const string Prefix = "rt_";

    public async Task<TokenPair> StartAsync(User user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        if (user.DisabledAt is not null)
        {
            throw new InvalidOperationException("A disabled user cannot start a session.");
        }

        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        db.TenantId = user.TenantId;
        var (plain, row) = NewToken(user.Id, user.TenantId, user.Scopes, Uuid.NewVersion7(), now, now + options.Value.RefreshTokenLifetime);
        db.RefreshTokens.Add(row);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        LogSessionStarted(user.TenantId, user.Id, row.FamilyId);
        return Pair(row, plain);
    }

    public async Task<(RefreshOutcome Outcome, TokenPair? Tokens)> RefreshAsync(string presented, CancellationToken cancellationToken)
    {
        if (Hash(presented) is not { } hash)
        {
            return (RefreshOutcome.Invalid, null);
        }

        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        // The token names its tenant; from here on every read and write is bound to it.
        if (await db.TenantOfRefreshTokenAsync(hash, cancellationToken).ConfigureAwait(false) is not { } tenant)
        {
            return (RefreshOutcome.Invalid, null);
        }

        db.TenantId = tenant;
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // Row lock: two concurrent uses of one token are serialized; the second sees it consumed.
        var token = await db.RefreshTokens
            .FromSql($"SELECT * FROM app.refresh_tokens WHERE token_hash = {hash} FOR UPDATE")
            .SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        if (token is null || token.RevokedAt is not null || token.FamilyExpiresAt <= now)
        {
            return (RefreshOutcome.Invalid, null);
        }

        var user = await db.Users.SingleOrDefaultAsync(u => u.Id == token.UserId, cancellationToken).ConfigureAwait(false);
        if (user is null || user.DisabledAt is not null)
        {
            return (RefreshOutcome.Invalid, null);
        }

        if (token.ConsumedAt is { } consumedAt)
        {
            var successor = await db.RefreshTokens.SingleOrDefaultAsync(t => t.Id == token.ReplacedBy, cancellationToken).ConfigureAwait(false);
            var lostResponse = now - consumedAt <= options.Value.RefreshReuseGrace && successor is { ConsumedAt: null, RevokedAt: null };
            if (!lostResponse)
            {
                await RevokeFamilyAsync(db, token.FamilyId, "reuse_detected", now, cancellationToken).ConfigureAwait(false);
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
                await revocations.RevokeSessionAsync(token.FamilyId.ToString()).ConfigureAwait(false);
                LogReuseDetected(token.TenantId, token.UserId, token.FamilyId);
                await audit.AppendAsync(token.TenantId, AuditKinds.RefreshReuse, token.UserId.ToString(), token.FamilyId.ToString(), new { session = token.FamilyId, revoked = "family" }, cancellationToken).ConfigureAwait(false);
                return (RefreshOutcome.ReuseDetected, null);
            }

            // The client most likely never saw the successor: replace it rather than punish a flaky network.
            successor!.RevokedAt = now;
            successor.RevokedReason = "replaced_after_lost_response";
        }

        var (plain, next) = NewToken(token.UserId, token.TenantId, user.Scopes, token.FamilyId, now, token.FamilyExpiresAt);
        db.RefreshTokens.Add(next);
        token.ConsumedAt ??= now;
        token.ReplacedBy = next.Id;
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (RefreshOutcome.Ok, Pair(next, plain));
    }

    /// <summary>Ends the session the token belongs to. Unknown tokens are ignored (nothing to reveal).</summary>
    public async Task LogoutAsync(string presented, CancellationToken cancellationToken)
    {
        if (Hash(presented) is not { } hash)
        {
            return;
        }

        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        if (await db.TenantOfRefreshTokenAsync(hash, cancellationToken).ConfigureAwait(false) is not { } tenant)
        {
            return;
        }

        db.TenantId = tenant;
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var token = await db.RefreshTokens.SingleAsync(t => t.TokenHash == hash, cancellationToken).ConfigureAwait(false);
        await RevokeFamilyAsync(db, token.FamilyId, "logout", time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        await revocations.RevokeSessionAsync(token.FamilyId.ToString()).ConfigureAwait(false);
        LogLoggedOut(token.TenantId, token.UserId, token.FamilyId);
        await audit.AppendAsync(token.TenantId, AuditKinds.LoggedOut, token.UserId.ToString(), token.FamilyId.ToString(), null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Disables a user of the tenant and ends all their sessions at once. False if no such user.</summary>
    public async Task<bool> DisableUserAsync(string tenantId, Guid userId, string actor, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        db.TenantId = tenantId;
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var user = await db.Users.SingleOrDefaultAsync(u => u.Id == userId, cancellationToken).ConfigureAwait(false);
        if (user is null)
        {
            return false;
        }

        user.DisabledAt ??= now;
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        await db.RefreshTokens.Where(t => t.UserId == userId && t.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, now).SetProperty(t => t.RevokedReason, "user_disabled"), cancellationToken)
            .ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        await revocations.RevokeUserAsync(userId.ToString()).ConfigureAwait(false);
        LogUserDisabled(tenantId, userId);
        await audit.AppendAsync(tenantId, AuditKinds.UserDisabled, actor, userId.ToString(), null, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Sets a user's scopes and ends their sessions, so no token with the old scopes outlives the change by more than
    /// the moment it takes; their next sign-in gets the new ones. The user as changed, or null if there is no such user.
    /// </summary>
    public async Task<User?> ChangeScopesAsync(string tenantId, Guid userId, IReadOnlyCollection<string> scopes, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scopes);
        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        db.TenantId = tenantId;
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var user = await db.Users.SingleOrDefaultAsync(u => u.Id == userId, cancellationToken).ConfigureAwait(false);
        if (user is null)
        {
            return null;
        }

        var before = user.Scopes;
        user.Scopes = string.Join(' ', scopes.Distinct(StringComparer.Ordinal));
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        var live = db.RefreshTokens.Where(t => t.UserId == userId && t.RevokedAt == null);
        var families = await live.Select(t => t.FamilyId).Distinct().ToListAsync(cancellationToken).ConfigureAwait(false);
        await live.ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, now).SetProperty(t => t.RevokedReason, "scopes_changed"), cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        foreach (var family in families)
        {
            await revocations.RevokeSessionAsync(family.ToString()).ConfigureAwait(false);
        }

        LogScopesChanged(tenantId, userId, families.Count);
        await audit.AppendAsync(tenantId, AuditKinds.ScopesChanged, actor, userId.ToString(), new { from = before, to = user.Scopes, sessionsEnded = families.Count }, cancellationToken).ConfigureAwait(false);
        return user;
    }

    private static Task<int> RevokeFamilyAsync(AppDbContext db, Guid familyId, string reason, DateTimeOffset now, CancellationToken cancellationToken) =>
        db.RefreshTokens.Where(t => t.FamilyId == familyId && t.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, now).SetProperty(t => t.RevokedReason, reason), cancellationToken);

    private TokenPair Pair(RefreshToken row, string plain)
    {
        var scopes = Scopes.Parse(row.Scopes);
        var (access, expires) = issuer.Issue(new TokenSubject(row.UserId.ToString(), row.TenantId, scopes, row.FamilyId.ToString()));
        return new TokenPair(access, expires, plain, scopes, row.TenantId, row.UserId);
    }

    private static (string Plain, RefreshToken Row) NewToken(Guid userId, string tenantId, string scopes, Guid familyId, DateTimeOffset now, DateTimeOffset familyExpiresAt)
    {
        var plain = Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return (plain, new RefreshToken
        {
            Id = Uuid.NewVersion7(),
            FamilyId = familyId,
            UserId = userId,
            TenantId = tenantId,
            TokenHash = Hash(plain)!,
            Scopes = scopes,
            CreatedAt = now,
            FamilyExpiresAt = familyExpiresAt,
        });
    }

    // High-entropy tokens need no salt or slow hash: SHA-256 makes the stored value useless to a reader.
    private static byte[]? Hash(string? presented) =>
        presented is { Length: > 10 and < 100 } && presented.StartsWith(Prefix, StringComparison.Ordinal)
            ? SHA256.HashData(Encoding.ASCII.GetBytes(presented))
            : null;

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Session {SessionId} started for user {UserId} of tenant {TenantId}")]
    private partial void LogSessionStarted(string tenantId, Guid userId, Guid sessionId);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Refresh token reuse: session {SessionId} of user {UserId} of tenant {TenantId} revoked")]
    private partial void LogReuseDetected(string tenantId, Guid userId, Guid sessionId);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Session {SessionId} of user {UserId} of tenant {TenantId} ended by logout")]
    private partial void LogLoggedOut(string tenantId, Guid userId, Guid sessionId);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "User {UserId} of tenant {TenantId} disabled; all sessions ended")]
    private partial void LogUserDisabled(string tenantId, Guid userId);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Scopes of user {UserId} of tenant {TenantId} changed; {Sessions} sessions ended")]
    private partial void LogScopesChanged(string tenantId, Guid userId, int sessions);
}
