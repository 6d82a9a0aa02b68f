namespace App.Bench.Flame;

/// <summary>
/// One frame of the flame graph: a name reached by one path from the root, the samples whose stacks pass through it
/// (its width) and those that ended in it (its self time). Children are ordered by name, so a graph is the same for
/// the same stacks whatever order they were sampled in.
/// </summary>
internal sealed class FlameNode(string name)
{
    /// <summary>The name of the synthetic root every stack hangs from.</summary>
    public const string RootName = "all";

    private readonly SortedDictionary<string, FlameNode> _children = new(StringComparer.Ordinal);

    public string Name { get; } = name;

    public long Total { get; private set; }

    public long Self { get; private set; }

    public IEnumerable<FlameNode> Children => _children.Values;

    /// <summary>The tree of folded stacks (<c>frame;frame;frame</c> to a count) under a root named <see cref="RootName"/>.</summary>
    public static FlameNode Build(IEnumerable<KeyValuePair<string, long>> folded)
    {
        var root = new FlameNode(RootName);
        foreach (var (stack, count) in folded)
        {
            var node = root;
            node.Total += count;
            foreach (var frame in stack.Split(';'))
            {
                if (!node._children.TryGetValue(frame, out var child))
                {
                    child = new FlameNode(frame);
                    node._children.Add(frame, child);
                }

                node = child;
                node.Total += count;
            }

            node.Self += count;
        }

        return root;
    }

    /// <summary>The deepest frame's depth, the root's being 0.</summary>
    public int Depth() => _children.Count == 0 ? 0 : 1 + _children.Values.Max(c => c.Depth());

    /// <summary>Every frame of the tree with its depth, parents before their children.</summary>
    public IEnumerable<(FlameNode Node, int Depth)> Walk()
    {
        var pending = new Stack<(FlameNode Node, int Depth)>();
        pending.Push((this, 0));
        while (pending.TryPop(out var item))
        {
            yield return item;
            foreach (var child in item.Node._children.Values.Reverse())
            {
                pending.Push((child, item.Depth + 1));
            }
        }
    }

    /// <summary>
    /// Every name's samples, most first: inclusive counts a stack once however many times a name recurs in it; self
    /// counts the samples that ended in the name.
    /// </summary>
    public static IReadOnlyList<(string Name, long Inclusive, long Self)> Totals(IEnumerable<KeyValuePair<string, long>> folded)
    {
        var totals = new Dictionary<string, (long Inclusive, long Self)>(StringComparer.Ordinal);
        foreach (var (stack, samples) in folded)
        {
            var frames = stack.Split(';');
            foreach (var frame in frames.Distinct(StringComparer.Ordinal))
            {
                var (inclusive, self) = totals.GetValueOrDefault(frame);
                totals[frame] = (inclusive + samples, self);
            }

            var leaf = totals[frames[^1]];
            totals[frames[^1]] = (leaf.Inclusive, leaf.Self + samples);
        }

        return [.. totals.Select(t => (Name: t.Key, t.Value.Inclusive, t.Value.Self))
            .OrderByDescending(t => t.Inclusive).ThenBy(t => t.Name, StringComparer.Ordinal)];
    }
}
