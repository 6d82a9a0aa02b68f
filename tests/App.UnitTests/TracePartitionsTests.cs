using App.Application.Traces;
using App.Infrastructure.Persistence;
using App.Infrastructure.Traces;

namespace App.UnitTests;

public class TracePartitionsTests
{
    [Fact]
    public void AMonthPartitionEndsAtTheFirstOfTheNextMonthInUtc()
    {
        Assert.Equal(new DateTime(2027, 1, 1, 0, 0, 0, DateTimeKind.Utc), TracePartitions.End("traces_2026_12"));
        Assert.Null(TracePartitions.End("traces_default"));
        Assert.Null(TracePartitions.End("traces_2026_13"));
        Assert.Null(TracePartitions.End("jobs_2026_12"));
    }

    [Fact]
    public void ARetentionUnderADayIsRefusedByName()
    {
        var validator = new TraceOptionsValidator();

        var result = validator.Validate(null, new TraceOptions { Retention = TimeSpan.FromHours(23) });

        Assert.True(result.Failed);
        Assert.Contains("Traces:Retention", result.FailureMessage, StringComparison.Ordinal);
        Assert.False(validator.Validate(null, new TraceOptions { Retention = null }).Failed);
        Assert.False(validator.Validate(null, new TraceOptions()).Failed);
    }
}
