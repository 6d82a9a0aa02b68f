using App.Bench;

namespace App.IntegrationTests;

/// <summary>How <c>App.Bench tail</c> lines requests up with the runtime's pauses (microseconds throughout).</summary>
public class TailAnalysisTests
{
    [Fact]
    public void SlowRequestsAreSplitIntoThoseAPauseTouchedAndEpisodesOfTheRest()
    {
        // 100 requests 10 ms apart taking 0.5 ms, but for three taking 5 ms: at 200 ms (a collection stops the
        // threads 201-203 ms), at 500 ms and at 800 ms.
        const long t0 = 1_700_000_000_000_000;
        var requests = Enumerable.Range(0, 100)
            .Select(i => (Start: t0 + (i * 10_000L), Latency: i is 20 or 50 or 80 ? 5_000L : 500L))
            .ToArray();
        TailScenario.Pause[] pauses =
        [
            new(t0 - 50_000, t0 - 48_000, 0), // before the run: not counted
            new(t0 + 201_000, t0 + 203_000, 0),
        ];

        var report = TailScenario.Analyze(requests, pauses);

        Assert.Equal(100, report.Requests);
        Assert.Equal(500, report.P50);
        Assert.Equal(5_000, report.P99);
        Assert.Single(report.Pauses);
        Assert.Equal(1, report.Touched);
        Assert.Equal(3, report.Slow);
        Assert.Equal(1, report.SlowTouched);
        Assert.Equal(5_000, report.P99Untouched);
        Assert.Collection(
            report.Episodes,
            e => Assert.Equal(new TailScenario.Episode(500, 1, 5_000, null), e),
            e => Assert.Equal(new TailScenario.Episode(800, 1, 5_000, 300), e));
    }

    [Fact]
    public void SlowRequestsLessThanFiveMillisecondsApartAreOneEpisode()
    {
        const long t0 = 1_000_000;
        (long Start, long Latency)[] requests = [.. Enumerable.Range(0, 200).Select(i => (t0 + (i * 1_000L), i is 100 or 103 or 107 ? 9_000L : 300L))];

        var report = TailScenario.Analyze(requests, []);

        Assert.Equal(0, report.Touched);
        Assert.Equal(9_000, report.P99Untouched);
        // 100 and 103 ms are 3 ms apart, 103 and 107 ms 4 ms: one episode of three, its worst 9 ms.
        var episode = Assert.Single(report.Episodes);
        Assert.Equal((100.0, 3, 9_000L), (episode.AtMs, episode.Requests, episode.Worst));
    }
}
