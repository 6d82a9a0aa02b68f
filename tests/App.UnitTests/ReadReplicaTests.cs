using App.Infrastructure.Persistence;
using Npgsql;

namespace App.UnitTests;

public class ReadReplicaTests
{
    private const string Runtime = "Username=app_runtime;Password=secret;Database=app";

    [Fact]
    public void OneHostServesReadsAndWritesAlike()
    {
        using var replica = new ReadReplica($"Host=db;{Runtime}");

        Assert.False(replica.IsSeparate);
        Assert.Same(replica.Primary, replica.Reads);
    }

    [Fact]
    public void SeveralHostsGiveTheWritesAndTheLaggingReadsSourcesOfTheirOwn()
    {
        using var replica = new ReadReplica($"Host=primary:5432,standby:5432;{Runtime}");

        Assert.True(replica.IsSeparate);
        Assert.NotSame(replica.Primary, replica.Reads);
        Assert.IsNotType<NpgsqlMultiHostDataSource>(replica.Primary);
    }

    [Fact]
    public void OnlyAStandbyThatIsAwayIsWorthTheRetryOnThePrimary()
    {
        Assert.True(ReadReplica.IsWorthPrimary(new NpgsqlException("broken", new IOException())));
        Assert.True(ReadReplica.IsWorthPrimary(new InvalidOperationException("wrapped", new TimeoutException())));
        Assert.True(ReadReplica.IsWorthPrimary(new PostgresException("terminating connection", "FATAL", "FATAL", PostgresErrorCodes.AdminShutdown)));
        Assert.True(ReadReplica.IsWorthPrimary(new PostgresException("conflict with recovery", "ERROR", "ERROR", PostgresErrorCodes.SerializationFailure)));
        Assert.False(ReadReplica.IsWorthPrimary(new PostgresException("permission denied", "ERROR", "ERROR", PostgresErrorCodes.InsufficientPrivilege)));
        Assert.False(ReadReplica.IsWorthPrimary(new InvalidOperationException("a bug")));
    }
}
