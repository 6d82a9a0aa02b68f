using App.Infrastructure.Security;
using Npgsql;

namespace App.Infrastructure.Privacy;

/// <summary>
/// Re-wraps every tenant's data keys under the active master key (<c>Encryption:ActiveKey</c>), as the owner role, so
/// that a master key taken out of rotation can then be removed from <c>Encryption:Keys</c> without making any tenant's
/// content unreadable. The content itself is not touched: only the 32-byte keys are. A key destroyed by an erasure
/// meanwhile stays destroyed (the change is made only to the wrapping that was read).
/// </summary>
public static class DataKeyRewrap
{
    public static async Task<RewrapReport> RunAsync(NpgsqlConnection owner, KeyEncryption encryption, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(encryption);
        var keys = new List<(string Tenant, Guid Id, byte[] Wrapped)>();
        await using (var list = new NpgsqlCommand("SELECT tenant_id, id, wrapped_key FROM app.wrapped_data_keys()", owner))
        await using (var reader = await list.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                keys.Add((reader.GetString(0), reader.GetGuid(1), (byte[])reader[2]));
            }
        }

        int rewrapped = 0, current = 0, gone = 0;
        foreach (var (tenant, id, wrapped) in keys)
        {
            if (KeyEncryption.KeyIdOf(wrapped) == encryption.ActiveKey)
            {
                current++;
                continue;
            }

            var context = TenantKeys.Context(tenant, id);
            await using var change = new NpgsqlCommand("SELECT app.rewrap_data_key(@tenant, @id, @old, @new)", owner);
            change.Parameters.AddWithValue("tenant", tenant);
            change.Parameters.AddWithValue("id", id);
            change.Parameters.AddWithValue("old", wrapped);
            change.Parameters.AddWithValue("new", encryption.Encrypt(encryption.Decrypt(wrapped, context), context));
            if ((bool)(await change.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
            {
                rewrapped++;
            }
            else
            {
                gone++;
            }
        }

        return new RewrapReport(encryption.ActiveKey, rewrapped, current, gone);
    }
}
