using System.Security.Cryptography;
using System.Text.Json;
using App.Application.Audit;
using App.Application.Identity;
using App.Infrastructure.Persistence;
using App.Infrastructure.Security;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace App.Infrastructure.Identity;

/// <summary>
/// The ES256 keys our access tokens are signed with, persisted in PostgreSQL with private keys encrypted by
/// <see cref="KeyEncryption"/>. Each key signs until <c>RetiresAt</c>; the next key is created (and published in the
/// JWKS) <see cref="PublishLead"/> before that, so every instance and every validator knows it before it signs;
/// a retired key stays in the JWKS until the last token it signed has expired. Instances agree through the
/// database (creation is serialized by an advisory lock) and reload the ring every <see cref="ReloadEvery"/>.
/// </summary>
public sealed partial class SigningKeyRing(
    IDbContextFactory<AppDbContext> databases,
    KeyEncryption encryption,
    IAuditLog audit,
    IOptions<AuthOptions> options,
    TimeProvider time,
    ILogger<SigningKeyRing> logger)
{
    public static readonly TimeSpan PublishLead = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan ReloadEvery = TimeSpan.FromSeconds(30);
    private const long AdvisoryLockId = 0x5349474E4B455953; // "SIGNKEYS"

    private volatile KeySnapshot? _snapshot;

    /// <summary>The keys as last loaded. Throws if the ring was never loaded (the host loads it at start-up).</summary>
    public KeySnapshot Current => _snapshot ?? throw new InvalidOperationException("The signing key ring has not been loaded yet.");

    public bool IsLoaded => _snapshot is not null;

    /// <summary>Loads the ring, creating the first or the next key when due.</summary>
    public async Task<KeySnapshot> ReloadAsync(CancellationToken cancellationToken)
    {
        var auth = options.Value;
        var now = time.GetUtcNow();
        await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var keys = await Live(db, now).ToListAsync(cancellationToken).ConfigureAwait(false);
        if (NeedsKey(keys, now))
        {
            await using var tx = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({AdvisoryLockId})", cancellationToken).ConfigureAwait(false);
            keys = await Live(db, now).ToListAsync(cancellationToken).ConfigureAwait(false);
            if (NeedsKey(keys, now))
            {
                var signingUntil = keys.Count == 0 ? now : keys.Max(k => k.RetiresAt);
                var created = Create(now, (signingUntil > now ? signingUntil : now) + auth.SigningKeyLifetime, auth);
                db.SigningKeys.Add(created);
                await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
                keys.Add(created);
                LogKeyCreated(created.Id, created.RetiresAt);
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
                await audit.AppendAsync(AuditKinds.SystemTenant, AuditKinds.SigningKeyCreated, "system", created.Id, new { signsUntil = created.RetiresAt }, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        var snapshot = Build(keys, now);
        _snapshot = snapshot;
        return snapshot;
    }

    /// <summary>
    /// Retires the signing key now (after a suspected compromise, or to test rotation): the next key signs from
    /// now on; tokens of the retired key stay valid until they expire.
    /// </summary>
    public async Task<KeySnapshot> RotateNowAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var auth = options.Value;
        await using (var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false))
        {
            var signing = await Live(db, now).Where(k => k.RetiresAt > now).OrderBy(k => k.RetiresAt).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            if (signing is not null)
            {
                signing.RetiresAt = now;
                signing.ExpiresAt = now + auth.AccessTokenLifetime + auth.ClockSkew;
                foreach (var later in await Live(db, now).Where(k => k.Id != signing.Id).ToListAsync(cancellationToken).ConfigureAwait(false))
                {
                    // The published successor takes over at once.
                    later.RetiresAt = now + auth.SigningKeyLifetime;
                    later.ExpiresAt = later.RetiresAt + auth.AccessTokenLifetime + auth.ClockSkew;
                }

                await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
                LogKeyRetired(signing.Id);
                await audit.AppendAsync(AuditKinds.SystemTenant, AuditKinds.SigningKeyRetired, "operator", signing.Id, null, cancellationToken).ConfigureAwait(false);
            }
        }

        return await ReloadAsync(cancellationToken).ConfigureAwait(false);
    }

    private static IQueryable<SigningKey> Live(AppDbContext db, DateTimeOffset now) =>
        db.SigningKeys.Where(k => k.ExpiresAt > now);

    // A key is needed when none signs now, or when the last one stops signing within the publish lead.
    private static bool NeedsKey(List<SigningKey> keys, DateTimeOffset now) =>
        !keys.Any(k => k.RetiresAt > now) || keys.Max(k => k.RetiresAt) - now < PublishLead;

    private SigningKey Create(DateTimeOffset now, DateTimeOffset retiresAt, AuthOptions auth)
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var id = $"{now:yyyyMMdd}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
        var p = ec.ExportParameters(includePrivateParameters: false);
        var jwk = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["kty"] = "EC",
            ["crv"] = "P-256",
            ["x"] = Base64UrlEncoder.Encode(p.Q.X),
            ["y"] = Base64UrlEncoder.Encode(p.Q.Y),
            ["kid"] = id,
            ["use"] = "sig",
            ["alg"] = "ES256",
        });
        return new SigningKey
        {
            Id = id,
            PublicJwk = jwk,
            EncryptedPrivateKey = encryption.Encrypt(ec.ExportPkcs8PrivateKey(), "signing-key:" + id),
            CreatedAt = now,
            RetiresAt = retiresAt,
            ExpiresAt = retiresAt + auth.AccessTokenLifetime + auth.ClockSkew,
        };
    }

    private KeySnapshot Build(List<SigningKey> keys, DateTimeOffset now)
    {
        var signing = keys.Where(k => k.RetiresAt > now).OrderBy(k => k.RetiresAt).First();
        var ec = ECDsa.Create();
        ec.ImportPkcs8PrivateKey(encryption.Decrypt(signing.EncryptedPrivateKey, "signing-key:" + signing.Id), out _);
        var validation = keys.Select(k => (SecurityKey)new JsonWebKey(k.PublicJwk)).ToList();
        var jwks = "{\"keys\":[" + string.Join(',', keys.OrderBy(k => k.RetiresAt).Select(k => k.PublicJwk)) + "]}";
        return new KeySnapshot(
            new SigningCredentials(new ECDsaSecurityKey(ec) { KeyId = signing.Id }, SecurityAlgorithms.EcdsaSha256),
            validation,
            jwks,
            now);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Signing key {KeyId} created; it signs until {RetiresAt:o}")]
    private partial void LogKeyCreated(string keyId, DateTimeOffset retiresAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Signing key {KeyId} retired early; its tokens stay valid until they expire")]
    private partial void LogKeyRetired(string keyId);
}
