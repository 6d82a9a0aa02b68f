using App.Application;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace App.PropertyTests;

public static class UuidGenerators
{
    // Any millisecond from 1970 to 10889 (the 48-bit range), as a timestamp.
    public static Arbitrary<DateTimeOffset> Timestamps() => Arb.From(
        Gen.Choose(0, int.MaxValue).SelectMany(high => Gen.Choose(0, 65_535).Select(low => DateTimeOffset.FromUnixTimeMilliseconds(Math.Min(((long)high << 16) | (uint)low, 253_402_300_799_999L)))));
}

[Properties(Arbitrary = [typeof(UuidGenerators)], MaxTest = 500)]
public class UuidProperties
{
    [Property]
    public bool IsAVersion7RfcUuid(DateTimeOffset at)
    {
        var id = Uuid.NewVersion7(at);
        var text = id.ToString("N");
        return id.Version == 7 && text[12] == '7' && "89ab".Contains(text[16], StringComparison.Ordinal);
    }

    [Property]
    public bool CarriesItsTimestampInTheFirst48Bits(DateTimeOffset at) =>
        Convert.ToInt64(Uuid.NewVersion7(at).ToString("N")[..12], 16) == at.ToUnixTimeMilliseconds();

    [Property]
    public bool SortsByTime(DateTimeOffset a, DateTimeOffset b)
    {
        var (x, y) = (a.ToUnixTimeMilliseconds(), b.ToUnixTimeMilliseconds());
        if (x == y)
        {
            return true;
        }

        var order = string.CompareOrdinal(Uuid.NewVersion7(a).ToString("N"), Uuid.NewVersion7(b).ToString("N"));
        return Math.Sign(order) == Math.Sign(x.CompareTo(y));
    }

    [Property(MaxTest = 5)]
    public bool IdsOfTheSameMillisecondDiffer(DateTimeOffset at) =>
        Enumerable.Range(0, 10_000).Select(_ => Uuid.NewVersion7(at)).Distinct().Count() == 10_000;

    [Property(MaxTest = 1)]
    public bool AgreesWithTheRuntimesVersion7OnLayout()
    {
        // Same timestamp, same version and variant positions as Guid.CreateVersion7: only the random bits differ.
        var at = DateTimeOffset.UtcNow;
        var ours = Uuid.NewVersion7(at).ToString("N");
        var runtime = Guid.CreateVersion7(at).ToString("N");
        return ours[..13] == runtime[..13] && "89ab".Contains(ours[16], StringComparison.Ordinal) && "89ab".Contains(runtime[16], StringComparison.Ordinal);
    }
}
