using System.Globalization;
using System.Text;
using App.Bench.Flame;

namespace App.Bench;

/// <summary>
/// <c>App.Bench flame</c>: from <c>perf script</c> output (a file, or - for standard input) or from folded stacks,
/// writes into a directory the folded stacks (stacks.folded), an interactive SVG flame graph (flame.svg) and a
/// speedscope file (flame.speedscope.json), and prints the frames with the most samples.
/// </summary>
internal static class FlameScenario
{
    public const string FoldedFile = "stacks.folded";
    public const string SvgFile = "flame.svg";
    public const string SpeedscopeFile = "flame.speedscope.json";

    public static async Task<int> RunAsync(string[] args)
    {
        var perfScript = Args.Text(args, "--perf-script");
        var foldedIn = Args.Text(args, "--folded");
        var dir = Args.Text(args, "--out");
        if ((perfScript is null) == (foldedIn is null) || dir is null)
        {
            throw new ArgumentException("usage: App.Bench flame (--perf-script FILE|- [--max-stack N] | --folded FILE) --out DIR [--title T] [--width PX] [--top N]");
        }

        var title = Args.Text(args, "--title") ?? "CPU flame graph";
        Directory.CreateDirectory(dir);
        SortedDictionary<string, long> folded;
        if (perfScript is not null)
        {
            using var reader = perfScript == "-" ? new StreamReader(Console.OpenStandardInput(), Encoding.UTF8) : new StreamReader(perfScript, Encoding.UTF8);
            folded = StackFolder.Fold(reader, Args.Int(args, "--max-stack", 0));
            await using var writer = new StreamWriter(Path.Combine(dir, FoldedFile), false, new UTF8Encoding(false));
            StackFolder.Write(writer, folded);
        }
        else
        {
            using var reader = new StreamReader(foldedIn!, Encoding.UTF8);
            folded = StackFolder.Read(reader);
        }

        if (folded.Count == 0)
        {
            Console.Error.WriteLine("no samples: nothing to draw (did perf record the process, and can perf script read perf.data?)");
            return 1;
        }

        var root = FlameNode.Build(folded);
        await File.WriteAllTextAsync(Path.Combine(dir, SvgFile), FlameSvg.Render(root, title, Args.Int(args, "--width", 1200)), new UTF8Encoding(false));
        await using (var json = File.Create(Path.Combine(dir, SpeedscopeFile)))
        {
            SpeedscopeWriter.Write(json, folded, title);
        }

        var top = Args.Int(args, "--top", 25);
        var totals = FlameNode.Totals(folded);
        Console.WriteLine(Invariant($"{root.Total:N0} samples in {folded.Count:N0} distinct stacks, {root.Depth()} frames at the deepest; written to {dir}: {FoldedFile}, {SvgFile}, {SpeedscopeFile}"));
        Print("inclusive (the frame and what it called)", totals.Take(top).Select(t => (t.Name, t.Inclusive)), root.Total);
        Print("self (samples that ended in the frame)", totals.Where(t => t.Self > 0).OrderByDescending(t => t.Self).ThenBy(t => t.Name, StringComparer.Ordinal).Take(top).Select(t => (t.Name, t.Self)), root.Total);
        return 0;
    }

    private static void Print(string heading, IEnumerable<(string Name, long Samples)> rows, long total)
    {
        Console.WriteLine();
        Console.WriteLine(heading + ":");
        foreach (var (name, samples) in rows)
        {
            Console.WriteLine(Invariant($"  {100.0 * samples / total,6:F2}%  {samples,7}  {name}"));
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
