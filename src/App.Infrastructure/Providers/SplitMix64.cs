namespace App.Infrastructure.Providers;

/// <summary>A small, fast PRNG whose sequence is fixed forever for a seed (unlike System.Random's contract).</summary>
internal struct SplitMix64(long seed)
{
    private ulong _state = unchecked((ulong)seed);

    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public int NextInt(int exclusiveMax) => (int)(Next() % (ulong)exclusiveMax);

    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));
}
