using App.Infrastructure.Persistence;
using Npgsql;

namespace App.UnitTests;

public class DatabaseOptionsTests
{
    private const string Plain = "Host=db.example.com;Database=app;Username=app_runtime;Password=secret;Maximum Pool Size=500;Timeout=60";

    [Fact]
    public void ThePoolLimitAndTheAcquireTimeoutWinOverTheString()
    {
        var builder = new NpgsqlConnectionStringBuilder(new DatabaseOptions { MaxPoolSize = 7, ConnectTimeout = TimeSpan.FromSeconds(2) }.Apply(Plain));

        Assert.Equal((7, 2, 3), (builder.MaxPoolSize, builder.Timeout, builder.CommandTimeout));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1001)]
    public void APoolLimitOutOfRangeIsRefusedByName(int size)
    {
        var result = new DatabaseOptionsValidator().Validate(null, new DatabaseOptions { MaxPoolSize = size });

        Assert.True(result.Failed);
        Assert.Contains("Database:MaxPoolSize", result.FailureMessage, StringComparison.Ordinal);
        Assert.False(new DatabaseOptionsValidator().Validate(null, new DatabaseOptions()).Failed);
    }
}
