using System.Runtime.InteropServices;

namespace App.Infrastructure.Hosting;

/// <summary>
/// The C library's heap (glibc's malloc), which the runtime, its JIT and OpenSSL allocate from. glibc gives a thread
/// that finds the shared arena busy an arena of its own (up to eight per CPU it sees), and an arena keeps the pages
/// of what was freed in it. <see cref="Trim"/> hands those pages back to the kernel. Measured on the gateway at
/// 1,000 req/s: the trace writer's own thread brought 10-12 MB more resident (240 against 228 MB) until it trimmed
/// after its batches (225 MB; docs/benchmarks.md).
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
