using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace App.Bench;

/// <summary>
/// Reads a trace taken with <c>dotnet-trace collect --profile gc-verbose</c> and says what the process allocated:
/// the total, per request when the number of requests is given, and the largest shares by type and by the first
/// frame outside the runtime's own libraries (where in our code, or in which library, the allocation was made).
/// The runtime reports a sample each time ~100 KB have been allocated, naming the type of the object that crossed
/// the mark and its stack: the total is exact to about 0.1 MB; a share is a count of samples, so one under ~1 %
/// (fewer than ~15 samples in a 20 s trace at 250 requests a second) is noise.
/// </summary>
internal static partial class AllocationsScenario
{
    public static Task<int> RunAsync(string[] args)
    {
        var path = args.Skip(1).FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal))
            ?? throw new ArgumentException("usage: App.Bench allocations <trace.nettrace> [--requests N] [--top N]");
        var requests = Option(args, "--requests");
        var top = (int)(Option(args, "--top") ?? 25);

        var etlx = TraceLog.CreateFromEventPipeDataFile(path);
        long total = 0, samples = 0;
        var byType = new Dictionary<string, long>(StringComparer.Ordinal);
        var bySite = new Dictionary<string, long>(StringComparer.Ordinal);
        using (var log = new TraceLog(etlx))
        {
            foreach (var ev in log.Events)
            {
                if (ev is not GCAllocationTickTraceData tick)
                {
                    continue;
                }

                samples++;
                total += tick.AllocationAmount64;
                Add(byType, Short(tick.TypeName), tick.AllocationAmount64);
                Add(bySite, Short(tick.TypeName) + "  <=  " + Site(ev.CallStack()), tick.AllocationAmount64);
            }
        }

        File.Delete(etlx);
        var perRequest = requests is > 0 ? string.Create(CultureInfo.InvariantCulture, $", {total / 1024.0 / requests.Value:F1} KB per request over {requests} requests") : string.Empty;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"allocated: {total / 1e6:F1} MB in {samples} samples{perRequest}"));
        Print("by type", byType, total, top);
        Print("by type and the first frame outside the runtime's libraries", bySite, total, top);
        return Task.FromResult(0);
    }

    private static long? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? long.Parse(args[i + 1], CultureInfo.InvariantCulture) : null;
    }

    private static void Add(Dictionary<string, long> totals, string key, long amount) =>
        totals[key] = totals.GetValueOrDefault(key) + amount;

    // The first frame not in System.* (the base library): ours, or ASP.NET Core's, Polly's, Npgsql's...
    private static string Site(TraceCallStack? stack)
    {
        for (; stack is not null; stack = stack.Caller)
        {
            var method = stack.CodeAddress.FullMethodName;
            if (!string.IsNullOrEmpty(method) && !method.StartsWith("System.", StringComparison.Ordinal) && !method.StartsWith("Interop", StringComparison.Ordinal))
            {
                var open = method.IndexOf('(', StringComparison.Ordinal);
                return open > 0 ? method[..open] : method;
            }
        }

        return "(the runtime's libraries only)";
    }

    // Generic arguments make async state machine names unreadable: keep the state machine's own name.
    private static string Short(string type)
    {
        if (!type.StartsWith("AsyncStateMachineBox", StringComparison.Ordinal))
        {
            return type;
        }

        var machine = StateMachine().Match(type);
        return machine.Success ? "async " + machine.Value : type;
    }

    [GeneratedRegex(@"[\w.`]+\+<[^>]*>[\w`]+")]
    private static partial Regex StateMachine();

    private static void Print(string title, Dictionary<string, long> totals, long total, int top)
    {
        Console.WriteLine();
        Console.WriteLine(title + ":");
        foreach (var (key, amount) in totals.OrderByDescending(t => t.Value).Take(top))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{100.0 * amount / total,5:F1} %  {key}"));
        }
    }
}
