using System.Data.Common;
using Npgsql;

namespace App.Infrastructure.Persistence;

/// <summary>What each connection string of the service (runtime, owner) gets unless it says otherwise.</summary>
internal static class PostgresConnectionString
{
    private const string GssEncryptionModeKeyword = "GSS Encryption Mode";

    /// <summary>
    /// GSS encryption off unless the string sets it: Npgsql tries it first by default, and without the Kerberos library
    /// (the chiseled image has none) every new connection pays for a failed attempt before it falls back.
    /// </summary>
    public static string WithDefaults(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // The builder writes back only the keys that were set, each under its canonical name, whatever alias was used.
        var given = new DbConnectionStringBuilder { ConnectionString = builder.ConnectionString };
        if (!given.ContainsKey(GssEncryptionModeKeyword))
        {
            builder.GssEncryptionMode = GssEncryptionMode.Disable;
        }

        return builder.ConnectionString;
    }
}
