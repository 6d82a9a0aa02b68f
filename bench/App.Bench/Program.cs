using App.Bench;
using App.Bench.Gate;

// dotnet run -c Release --project bench/App.Bench -- <scenario> [options]; docs/benchmarks.md has the commands.
// A scenario that fails returns 1 instead of crashing: the servers it started (PostgreSQL, Redis) are stopped on a
// normal exit, and a crash would leave them running.
try
{
    return (args.FirstOrDefault() ?? string.Empty) switch
    {
        "traces" => await TracesScenario.RunAsync(args),
        "load" => await LoadScenario.RunAsync(args),
        "guard" => await GuardScenario.RunAsync(),
        "redact" => await RedactScenario.RunAsync(),
        "limiter" => await LimiterScenario.RunAsync(args),
        "delay-proxy" => await DelayProxy.RunAsync(args),
        "allocations" => await AllocationsScenario.RunAsync(args),
        "tail" => await TailScenario.RunAsync(args),
        "flame" => await FlameScenario.RunAsync(args),
        "gate" => await GateScenario.RunAsync(args),
        "embeddings" => await EmbeddingsScenario.RunAsync(args),
        _ => Usage(),
    };
}
catch (Exception ex)
{
    Console.Error.WriteLine(ex);
    return 1;
}

static int Usage()
{
    Console.Error.WriteLine("usage: App.Bench guard   (detection and false-positive rates of the input guard on tests/data/guard)");
    Console.Error.WriteLine("       App.Bench redact  (the redactor's time and bytes allocated per text)");
    Console.Error.WriteLine("       App.Bench delay-proxy --port P --target HOST:PORT [--delay-ms N]   (a TCP relay holding replies N ms; 0: a plain relay)");
    Console.Error.WriteLine("       App.Bench allocations TRACE.nettrace [--requests N] [--top N]   (what a dotnet-trace gc-verbose trace allocated, by type and site)");
    Console.Error.WriteLine("       App.Bench tail TIMELINE.csv GC.nettrace   (an open-loop run's slow requests against the collections that paused the server)");
    Console.Error.WriteLine("       App.Bench flame (--perf-script FILE|- [--max-stack N] | --folded FILE) --out DIR [--title T] [--width PX] [--top N]");
    Console.Error.WriteLine("                      (folded stacks, an SVG flame graph and a speedscope file from perf script output; a stack of");
    Console.Error.WriteLine("                      --max-stack frames, the kernel's perf_event_max_stack, is marked as cut)");
    Console.Error.WriteLine("       App.Bench embeddings [--items N] [--batch N] [--hits N]   (the offline model's load, memory and items/s; items/s through the service, missed and cached; a cached item's latency)");
    Console.Error.WriteLine("       App.Bench traces [--count N] [--tenants N] [--content off|redacted|full]");
    Console.Error.WriteLine("       App.Bench limiter [--count N] [--concurrency N] [--users N] [--cached] [--budgets]   (Redis and client CPU per admission and settlement)");
    Console.Error.WriteLine("       App.Bench gate [--budgets FILE] [--profile NAME] [--base URL] [--metrics URL] [--model M] [--token T|--token-file F] [--report FILE]");
    Console.Error.WriteLine("                      (the load gate: a profile of deploy/ci/load-budgets.json held to its budgets; exit 1 on a missed one)");
    Console.Error.WriteLine("       App.Bench load --url URL [--token T] [--model M] [--mode open|closed] [--rate N] [--connections N] [--method GET|POST]");
    Console.Error.WriteLine("                      [--duration S] [--warmup S] [--stream] [--deterministic] [--label L] [--pid P] [--json FILE]");
    Console.Error.WriteLine("                      [--stagger-ms N] [--timeline FILE]   (closed loop: connection i starts i x N ms into each phase;");
    Console.Error.WriteLine("                      every request's start and latency in microseconds to FILE)");
    return 2;
}
