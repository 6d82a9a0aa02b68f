using App.Infrastructure.Persistence;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace App.UnitTests;

public class DatabaseOutageTests
{
    [Fact]
    public void ADatabaseThatDidNotAnswerIsToldFromOneThatRefused()
    {
        Assert.True(DatabaseOutage.IsUnavailable(new TimeoutException()));
        Assert.True(DatabaseOutage.IsUnavailable(new InvalidOperationException("transient", new NpgsqlException("timed out", new TimeoutException()))));
        Assert.False(DatabaseOutage.IsUnavailable(new InvalidOperationException("a bug")));
        Assert.False(DatabaseOutage.IsUnavailable(null));
    }

    [Fact]
    public async Task StartUpWorkIsTriedAgainWhileTheDatabaseDoesNotAnswer()
    {
        var attempts = 0;
        await DatabaseOutage.WhileStartingAsync(
            _ => ++attempts < 3 ? throw new TimeoutException() : Task.CompletedTask, TimeSpan.FromSeconds(30), NullLogger.Instance, CancellationToken.None);
        Assert.Equal(3, attempts);
    }

    [Fact]
    public async Task StartUpWorkThatFailsForAnotherReasonOrForTooLongFails()
    {
        var attempts = 0;
        await Assert.ThrowsAsync<InvalidOperationException>(() => DatabaseOutage.WhileStartingAsync(
            _ => { attempts++; throw new InvalidOperationException("schema missing"); }, TimeSpan.FromSeconds(30), NullLogger.Instance, CancellationToken.None));
        Assert.Equal(1, attempts);

        await Assert.ThrowsAsync<TimeoutException>(() => DatabaseOutage.WhileStartingAsync(
            _ => throw new TimeoutException(), TimeSpan.FromMilliseconds(700), NullLogger.Instance, CancellationToken.None));
    }
}
