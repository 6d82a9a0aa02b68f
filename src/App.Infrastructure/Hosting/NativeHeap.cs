using System.Runtime.InteropServices;

namespace App.Infrastructure.Hosting;

/// <summary>
/// The C library's heap (glibc's malloc), whose per-thread arenas keep the pages of what was freed in them, so a
/// thread that allocates in bursts holds memory it no longer uses until <see cref="Trim"/> hands it back (the effect
/// is measured in docs/benchmarks-history.md).
/// </summary>
public static partial class NativeHeap
{
    private static bool _unavailable = !OperatingSystem.IsLinux();

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    /// <summary>
    /// Returns the free pages of every arena to the kernel (<c>malloc_trim(0)</c>, glibc); elsewhere, and with a C
    /// library without it (musl), does nothing.
    /// </summary>
    public static void Trim()
    {
        if (_unavailable)
        {
            return;
        }

        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            _unavailable = true;
        }
    }
}
