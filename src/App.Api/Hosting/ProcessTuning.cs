namespace App.Api.Hosting;

/// <summary>Runtime settings that must be in place before the host starts any thread.</summary>
internal static class ProcessTuning
{
    private const string SpinLimit = "System.Threading.ThreadPool.UnfairSemaphoreSpinLimit";
    private const string SpinLimitVariable = "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit";

    /// <summary>
    /// With one CPU (a container limited to one core, or the process pinned to one), idle thread-pool workers do
    /// not spin before they sleep. Spinning waits for work that another core is about to queue; with one core
    /// nothing else runs while a worker spins, so it only burns the CPU the request needs and adds context
    /// switches (<c>sched_yield</c>). Measured on one core at 1,000 req/s: 0.62-0.66 → 0.36-0.40 CPU-ms and
    /// 131-141 → 10-11 context switches per request (docs/benchmarks.md). An explicit
    /// <c>DOTNET_ThreadPool_UnfairSemaphoreSpinLimit</c>, or the same setting in runtimeconfig.json, wins. Call it
    /// first thing: the thread pool reads it once.
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
    /// as configured, else on when the process has one CPU. There the hand-off to a thread-pool worker only queues the
    /// request behind a wake-up on the same core: measured on one core, the p99 at 1,000 req/s 0.8-1.7 ms lower in
    /// six runs of six, context switches per request 1.3-2.1 → 0.25-0.37 with 64 callers (docs/benchmarks.md).
    /// The rule of <c>Hosting:InlineSocketCompletions</c> applies: request code must never block.
    /// </summary>
    public static bool InlineScheduling(bool? configured, int processors) => configured ?? processors == 1;
}
