using System.Diagnostics;
using System.Runtime.InteropServices;

namespace App.Bench;

/// <summary>
/// Puts the calling thread to sleep until a <see cref="Stopwatch"/> timestamp without spinning. On Linux it sleeps
/// with <c>nanosleep</c>, which wakes within the kernel's timer slack (50 µs by default) of the time asked for;
/// <see cref="Task.Delay(TimeSpan)"/> and <see cref="Thread.Sleep(TimeSpan)"/> count whole milliseconds, so a
/// pacer built on them either wakes up to a millisecond late or spins out the rest of the interval, and a spinning
/// load generator takes the CPU of whatever shares its core (the fake upstream, here). Elsewhere it falls back to
/// <see cref="Thread.Sleep(TimeSpan)"/>.
/// </summary>
internal static partial class Pacer
{
    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "nanosleep", SetLastError = true)]
    private static partial int NanoSleep(ref TimeSpec request, IntPtr remaining);

    /// <summary>Returns once <see cref="Stopwatch.GetTimestamp"/> has reached <paramref name="due"/>, or soon after.</summary>
    public static void SleepUntil(long due)
    {
        var remaining = due - Stopwatch.GetTimestamp();
        if (remaining <= 0)
        {
            return;
        }

        var nanoseconds = (long)(remaining * (1_000_000_000.0 / Stopwatch.Frequency));
        if (!OperatingSystem.IsLinux())
        {
            Thread.Sleep(TimeSpan.FromTicks(Math.Max(1, nanoseconds / 100)));
            return;
        }

        var request = new TimeSpec { Seconds = nanoseconds / 1_000_000_000, Nanoseconds = nanoseconds % 1_000_000_000 };
        // Interrupted by a signal (EINTR): the caller sees the time has not come and asks again.
        _ = NanoSleep(ref request, IntPtr.Zero);
    }
}
