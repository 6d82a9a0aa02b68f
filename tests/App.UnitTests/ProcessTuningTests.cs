using App.Api.Hosting;

namespace App.UnitTests;

public class ProcessTuningTests
{
    [Theory]
    [InlineData(null, 1, true)]
    [InlineData(null, 2, false)]
    [InlineData(null, 16, false)]
    [InlineData(false, 1, false)]
    [InlineData(true, 4, true)]
    public void InlineSchedulingIsOnWithOneCpuUnlessConfigured(bool? configured, int processors, bool expected) =>
        Assert.Equal(expected, ProcessTuning.InlineScheduling(configured, processors));
}
