using System.Globalization;
using System.Text.RegularExpressions;

namespace App.Bench.Flame;

/// <summary>
/// Folds <c>perf script</c> output into collapsed stacks: one line per distinct stack, its frames from the thread
/// (root) to the leaf joined by <c>;</c>, then a space and how many samples had it. Frames are named by
/// <see cref="FrameNames"/>; frames with no name are left out, a stub between two frames too (it only passes the call
/// on), runs of one unnamed module are one frame, and the thread's name is the first frame.
/// </summary>
internal static partial class StackFolder
{
    /// <summary>
    /// The frame put under the thread of a stack perf cut (kernel.perf_event_max_stack): its root frames are lost, so
    /// it could not stand on its tower; grouped here it is counted, not scattered.
    /// </summary>
    public const string CutFrame = "[deeper than perf_event_max_stack]";

    /// <summary>
    /// The folded stacks of a <c>perf script</c> text, ordered by stack. With <paramref name="maxStack"/> (the
    /// kernel's perf_event_max_stack when perf recorded), a stack of that many frames is taken as cut.
    /// </summary>
    public static SortedDictionary<string, long> Fold(TextReader perfScript, int maxStack = 0)
    {
        var folded = new SortedDictionary<string, long>(StringComparer.Ordinal);
        string? thread = null;
        var frames = new List<string>();
        var printed = 0;
        while (perfScript.ReadLine() is { } line)
        {
            if (line.Length > 0 && !char.IsWhiteSpace(line[0]))
            {
                Add(folded, thread, frames, maxStack > 0 && printed >= maxStack);
                (thread, printed) = (ThreadName(line), 0);
            }
            else if (line.Trim().Length == 0)
            {
                Add(folded, thread, frames, maxStack > 0 && printed >= maxStack);
                (thread, printed) = (null, 0);
            }
            else if (thread is not null && FrameLine().Match(line) is { Success: true } frame)
            {
                printed++;
                if (FrameNames.Clean(frame.Groups["symbol"].Value, frame.Groups["module"].Success ? frame.Groups["module"].Value : null) is { } name)
                {
                    frames.Add(name);
                }
            }
        }

        Add(folded, thread, frames, maxStack > 0 && printed >= maxStack);
        return folded;
    }

    /// <summary>Writes folded stacks, one <c>frame;frame;frame count</c> line each.</summary>
    public static void Write(TextWriter writer, IEnumerable<KeyValuePair<string, long>> folded)
    {
        foreach (var (stack, count) in folded)
        {
            writer.Write(stack);
            writer.Write(' ');
            writer.WriteLine(count.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Reads folded stacks; a stack seen on several lines adds up.</summary>
    public static SortedDictionary<string, long> Read(TextReader reader)
    {
        var folded = new SortedDictionary<string, long>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            var space = line.TrimEnd().LastIndexOf(' ');
            if (space > 0 && long.TryParse(line.AsSpan(space + 1).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) && count > 0)
            {
                var stack = line[..space];
                folded[stack] = folded.GetValueOrDefault(stack) + count;
            }
        }

        return folded;
    }

    /// <summary>One sample's frames (leaf first, as perf prints them) as its folded stack.</summary>
    internal static string Stack(string thread, IReadOnlyList<string> leafFirst, bool cut = false)
    {
        var stack = new List<string> { thread };
        if (cut)
        {
            stack.Add(CutFrame);
        }

        for (var i = leafFirst.Count - 1; i >= 0; i--)
        {
            var name = leafFirst[i];
            // A stub as the leaf is where the CPU was; anywhere else it is a trampoline between two frames.
            if (i > 0 && FrameNames.IsStub(name))
            {
                continue;
            }

            // Calls within one unnamed module cannot be told apart: one frame for the run.
            if (name.StartsWith('[') && stack[^1] == name)
            {
                continue;
            }

            stack.Add(name);
        }

        return string.Join(';', stack);
    }

    private static void Add(SortedDictionary<string, long> folded, string? thread, List<string> frames, bool cut)
    {
        if (thread is not null)
        {
            var stack = Stack(thread, frames, cut);
            folded[stack] = folded.GetValueOrDefault(stack) + 1;
        }

        frames.Clear();
    }

    // perf names a thread by its comm, which may hold spaces: the name is what comes before the thread id.
    private static string ThreadName(string header)
    {
        var match = Header().Match(header);
        var name = match.Success ? match.Groups["comm"].Value : header.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        return name.Replace(';', ':').Trim();
    }

    [GeneratedRegex(@"^(?<comm>.+?)\s+(?:\d+/)?\d+\s+(?:\[\d+\]\s+)?\d+\.\d+:")]
    private static partial Regex Header();

    // An address, the symbol (which may hold spaces and parentheses) and the module in parentheses at the end.
    [GeneratedRegex(@"^\s+[0-9a-fA-F]+\s+(?<symbol>.*?)(?:\s+\((?<module>[^()]*)\))?\s*$")]
    private static partial Regex FrameLine();
}
