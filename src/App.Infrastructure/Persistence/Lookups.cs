using Microsoft.EntityFrameworkCore;

namespace App.Infrastructure.Persistence;

/// <summary>
/// The only reads that cross tenants: each answers one question needed before the tenant is known, through a
/// SECURITY DEFINER function owned by a role that bypasses row security (see the IdentityRowSecurity migration).
/// Everything after that runs bound to the tenant it returns.
/// </summary>
public static class Lookups
{
    public static Task<string?> TenantOfRefreshTokenAsync(this AppDbContext db, byte[] hash, CancellationToken cancellationToken) =>
        Scalar<string?>(db, $"SELECT app.tenant_of_refresh_token({hash}) AS \"Value\"", cancellationToken);

    public static Task<string?> TenantOfCredentialAsync(this AppDbContext db, byte[] credentialId, CancellationToken cancellationToken) =>
        Scalar<string?>(db, $"SELECT app.tenant_of_credential({credentialId}) AS \"Value\"", cancellationToken);

    public static Task<string?> TenantOfInvitationAsync(this AppDbContext db, byte[] codeHash, CancellationToken cancellationToken) =>
        Scalar<string?>(db, $"SELECT app.tenant_of_invitation({codeHash}) AS \"Value\"", cancellationToken);

    public static Task<bool> TenantExistsAsync(this AppDbContext db, string tenantId, CancellationToken cancellationToken) =>
        Scalar<bool>(db, $"SELECT app.tenant_exists({tenantId}) AS \"Value\"", cancellationToken);

    public static Task<bool> CredentialExistsAsync(this AppDbContext db, byte[] credentialId, CancellationToken cancellationToken) =>
        Scalar<bool>(db, $"SELECT app.credential_exists({credentialId}) AS \"Value\"", cancellationToken);

    private static async Task<T> Scalar<T>(AppDbContext db, FormattableString sql, CancellationToken cancellationToken) =>
        (await db.Database.SqlQuery<T>(sql).ToListAsync(cancellationToken).ConfigureAwait(false)).Single();
}
