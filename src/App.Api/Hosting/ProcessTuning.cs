namespace App.Api.Hosting;

/// <summary>Runtime settings that must be in place before the host starts any thread.</summary>
internal static class ProcessTuning
{
    private const string SpinLimit = "System.Threading.ThreadPool.UnfairSemaphoreSpinLimit";
    private const string SpinLimitVariable = "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit";

    /// <summary>
    /// With one CPU, idle thread-pool workers do not spin before they sleep, because spinning waits for work that
    /// another core would queue and with one core only takes the CPU from the request (docs/benchmarks-history.md).
    /// An explicit <c>DOTNET_ThreadPool_UnfairSemaphoreSpinLimit</c>, or the same setting in runtimeconfig.json,
    /// wins; call it first thing, since the thread pool reads it once.
    /// </summary>
    public static void BeforeHostStarts()
    {
        if (Environment.ProcessorCount == 1
            && Environment.GetEnvironmentVariable(SpinLimitVariable) is null
            && AppContext.GetData(SpinLimit) is null)
        {
            AppContext.SetData(SpinLimit, 0);
        }
    }

    /// <summary>
    /// Whether Kestrel runs the request pipeline on the thread that read the request (<c>Hosting:InlineScheduling</c>):
    /// as configured, else on with one CPU, where the hand-off to a thread-pool worker only queues the request behind
    /// a wake-up on the same core (docs/benchmarks-history.md); as with <c>Hosting:InlineSocketCompletions</c>,
    /// request code must then never block.
    /// </summary>
    public static bool InlineScheduling(bool? configured, int processors) => configured ?? processors == 1;
}
