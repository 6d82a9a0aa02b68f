using App.Application.Traffic;
using App.Infrastructure.Traffic;
using StackExchange.Redis;

namespace App.UnitTests;

/// <summary>
/// Settlements sent together that touch the same three keys (one caller, model and minute) go as one script
/// call with their increments added up; the real-Redis side is <c>SettlementTests</c>.
/// </summary>
public class SettlementMergeTests
{
    private static Settlement Settlement(string window, string day, long[] args)
    {
        var reservation = new Reservation(new UsageCaller("t", "u"), "m", 10, 0, window, DateTimeOffset.UnixEpoch);
        return new Settlement(reservation, new CallUsage(1, 2, false), 3, 0, [window, day, "month"], args);
    }

    [Fact]
    public void TheSameKeysAddUpOtherKeysStayApartAndTheFlagIsKept()
    {
        long[] a = [-10, -10, -5, 3, 1, 2, 0, 7, 0];
        long[] b = [-4, 0, 0, 0, 0, 0, 6, 0, 1];
        long[] c = [1, 2, 3, 4, 5, 6, 7, 8, 0];
        long[] d = [-1, -1, -1, 1, 1, 0, 0, 2, 1];
        var sending = new List<Settlement>
        {
            Settlement("w1", "d1", a),
            Settlement("w2", "d1", c), // another caller or minute
            Settlement("w1", "d1", b),
            Settlement("w1", "d2", d), // another day
        };

        var (groupOf, calls) = SettlementBatcher.Merge(sending);

        Assert.Equal([0, 1, 0, 2], groupOf);
        Assert.Equal(3, calls.Count);
        Assert.Equal(["w1", "d1", "month"], calls[0].Keys.Select(k => (string)k!));
        Assert.Equal([-14, -10, -5, 3, 1, 2, 6, 7, 1], calls[0].Args);
        Assert.Equal(c, calls[1].Args);
        Assert.Equal(d, calls[2].Args);
        // The settlements' own arguments are left as they were.
        Assert.Equal([-10, -10, -5, 3, 1, 2, 0, 7, 0], a);
    }

    [Fact]
    public void OneSettlementIsSentAsItIs()
    {
        long[] args = [5, 0, 0, 5, 2, 3, 0, 9, 0];
        var (groupOf, calls) = SettlementBatcher.Merge([Settlement("w", "d", args)]);
        Assert.Equal([0], groupOf);
        Assert.Same(args, Assert.Single(calls).Args);
    }
}
