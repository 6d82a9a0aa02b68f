using System.Net;
using App.Testing;
using Npgsql;

namespace App.IntegrationTests;

/// <summary>Readiness includes PostgreSQL when a connection string is configured, against a real server.</summary>
public class PostgresReadinessTests : GatewayTest
{
    private string _connectionString = string.Empty;

    protected override Settings Configure(Settings settings)
    {
        var postgres = SharedServers.PostgresAsync().GetAwaiter().GetResult();
        _connectionString = postgres.CreateDatabaseAsync("ready_" + Guid.NewGuid().ToString("N")[..8]).GetAwaiter().GetResult();
        return base.Configure(settings).With("ConnectionStrings:Postgres", _connectionString);
    }

    [Fact]
    public async Task ReadinessReportsPostgres()
    {
        var ready = await ReadyAsync();
        Assert.Equal("Healthy", ready.GetProperty("checks").GetProperty("postgres").GetProperty("status").GetString());

        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_setting('server_version_num')::int", connection);
        Assert.True((int)(await command.ExecuteScalarAsync())! >= 150000, "PostgreSQL 15 or newer");
    }

    [Fact]
    public async Task LivenessDoesNotDependOnPostgres()
    {
        using var live = await Client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }
}
