using App.Infrastructure.Persistence;
using Npgsql;

namespace App.UnitTests;

public class PostgresConnectionStringTests
{
    private const string Plain = "Host=db.example.com;Database=app;Username=app_runtime;Password=secret";

    [Fact]
    public void GssEncryptionIsOffWhenTheStringDoesNotSetIt()
    {
        Assert.Equal(GssEncryptionMode.Disable, Mode(PostgresConnectionString.WithDefaults(Plain)));
        Assert.Equal(GssEncryptionMode.Disable, Mode(new DatabaseOptions().Apply(Plain)));
    }

    [Theory]
    [InlineData("GSS Encryption Mode=Prefer", GssEncryptionMode.Prefer)]
    [InlineData("GssEncryptionMode=Require", GssEncryptionMode.Require)]
    public void AnExplicitGssEncryptionModeWins(string setting, GssEncryptionMode expected)
    {
        Assert.Equal(expected, Mode(PostgresConnectionString.WithDefaults($"{Plain};{setting}")));
        Assert.Equal(expected, Mode(new DatabaseOptions().Apply($"{Plain};{setting}")));
    }

    [Fact]
    public void TheRestOfTheStringIsKept()
    {
        var builder = new NpgsqlConnectionStringBuilder(PostgresConnectionString.WithDefaults($"{Plain};Port=6432;SSL Mode=Require"));

        Assert.Equal(("db.example.com", 6432, "app", "app_runtime", "secret", SslMode.Require), (builder.Host, builder.Port, builder.Database, builder.Username, builder.Password, builder.SslMode));
    }

    private static GssEncryptionMode Mode(string connectionString) => new NpgsqlConnectionStringBuilder(connectionString).GssEncryptionMode;
}
