using System.Net;
using App.Testing;
using Npgsql;

namespace App.IntegrationTests;

/// <summary>The app's database connection: a runtime role that owns nothing, and readiness that reports it.</summary>
public class DatabaseRoleTests : GatewayTest
{
    [Fact]
    public async Task ReadinessReportsPostgres()
    {
        var ready = await ReadyAsync();
        Assert.Equal("Healthy", ready.GetProperty("checks").GetProperty("postgres").GetProperty("status").GetString());
        using var live = await Client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Fact]
    public async Task TheRuntimeRoleIsNoSuperuserBypassesNoRowSecurityAndOwnsNoTable()
    {
        var database = await Databases.SharedAsync();
        await using var connection = new NpgsqlConnection(database.Runtime);
        await connection.OpenAsync();
        await using (var attributes = new NpgsqlCommand(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user", connection))
        await using (var reader = await attributes.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.False(reader.GetBoolean(0), "superuser");
            Assert.False(reader.GetBoolean(1), "bypassrls");
            Assert.False(reader.GetBoolean(2), "createrole");
            Assert.False(reader.GetBoolean(3), "createdb");
        }

        await using (var owned = new NpgsqlCommand("SELECT count(*) FROM pg_tables WHERE tableowner = current_user", connection))
        {
            Assert.Equal(0L, (long)(await owned.ExecuteScalarAsync())!);
        }

        await using (var tables = new NpgsqlCommand("SELECT count(*) FROM pg_tables WHERE schemaname = 'app'", connection))
        {
            Assert.True((long)(await tables.ExecuteScalarAsync())! >= 5, "the migrations created the schema");
        }

        await using var ddl = new NpgsqlCommand("CREATE TABLE app.not_allowed (id int)", connection);
        var denied = await Assert.ThrowsAsync<PostgresException>(() => ddl.ExecuteNonQueryAsync());
        Assert.Equal("42501", denied.SqlState); // insufficient_privilege
    }
}
