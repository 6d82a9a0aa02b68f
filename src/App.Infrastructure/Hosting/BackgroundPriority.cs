using System.Runtime.InteropServices;

namespace App.Infrastructure.Hosting;

/// <summary>
/// Lowers the CPU priority of the calling thread, for a dedicated thread whose work can wait while requests run
/// (the trace writer). On Linux the thread gets nice 19 (<c>setpriority</c> on its thread id: each thread is its own
/// task there), so a thread serving a request that wakes up takes the core from it at once and the scheduler gives
/// it about 1.5 % of a busy core (weight 15 against 1,024); idle CPU it still gets in full. The change cannot be
/// undone without privileges, which is why it is only for threads that belong to one job. Elsewhere it sets
/// <see cref="ThreadPriority.Lowest"/>, which Windows honours.
/// </summary>
internal static partial class BackgroundPriority
{
    private const int PrioProcess = 0; // with a thread id as "who", Linux applies it to that thread only
    private const int Lowest = 19;

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, int who, int priority);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetThreadId();

    /// <summary>Whether the calling thread now runs at the lowest priority.</summary>
    public static bool LowerCurrentThread()
    {
        if (!OperatingSystem.IsLinux())
        {
            Thread.CurrentThread.Priority = ThreadPriority.Lowest;
            return OperatingSystem.IsWindows();
        }

        // setpriority is in every libc that has gettid.
        return CurrentThreadId() is { } thread && SetPriority(PrioProcess, thread, Lowest) == 0;
    }

    /// <summary>The calling thread's id as the kernel knows it (Linux), or null.</summary>
    public static int? CurrentThreadId()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            return GetThreadId();
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            return null;
        }
    }
}
