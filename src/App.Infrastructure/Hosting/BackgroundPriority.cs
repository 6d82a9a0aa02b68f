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

        try
        {
            return SetPriority(PrioProcess, GetThreadId(), Lowest) == 0;
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            return false; // a libc without gettid (glibc before 2.30): the thread keeps its priority
        }
    }

    /// <summary>The nice value of a thread of this process, from <c>/proc</c> (Linux), or null.</summary>
    public static int? NiceOf(int threadId)
    {
        var path = $"/proc/self/task/{threadId}/stat";
        if (!File.Exists(path))
        {
            return null;
        }

        // Fields after the command name (which may hold spaces, hence the last ')'): state is the first, nice the 17th.
        var stat = File.ReadAllText(path);
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[16], System.Globalization.CultureInfo.InvariantCulture);
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
