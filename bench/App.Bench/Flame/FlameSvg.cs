using System.Globalization;
using System.Security;
using System.Text;

namespace App.Bench.Flame;

/// <summary>
/// Renders a <see cref="FlameNode"/> tree as a self-contained SVG flame graph: one rectangle per frame, as wide as its
/// samples, stacked on its caller with the root at the bottom; a tooltip per frame with its samples and share;
/// colours by kind of code (our App.* code, .NET, other libraries, native, kernel), shaded by name so neighbours
/// differ and a frame keeps its colour from one graph to the next. An embedded script (flame.js) adds click-to-zoom
/// and search; without it the graph still reads.
/// </summary>
internal static class FlameSvg
{
    public const double FrameHeight = 16;
    public const double Padding = 10;

    /// <summary>Narrower frames (and what they call) are left out: they could not be seen or hovered.</summary>
    public const double MinWidth = 0.1;

    private const double FontSize = 12;
    private const double CharWidth = FontSize * 0.6;
    private const double Top = 60;
    private const double Bottom = 30;

    private static readonly (FrameKind Kind, string Label)[] Legend =
    [
        (FrameKind.App, "our code (App.*)"), (FrameKind.Dotnet, ".NET runtime and base classes"), (FrameKind.Managed, "other managed code"),
        (FrameKind.Native, "native"), (FrameKind.Kernel, "kernel"),
    ];

    /// <summary>The SVG document of the tree, <paramref name="width"/> pixels wide.</summary>
    public static string Render(FlameNode root, string title, int width = 1200)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 100);
        var depth = root.Depth();
        var height = Top + ((depth + 1) * FrameHeight) + Bottom;
        var total = Math.Max(1, root.Total);
        var scale = (width - (2 * Padding)) / total;
        var svg = new StringBuilder();
        svg.Append(Invariant($$"""
            <?xml version="1.0" encoding="UTF-8" standalone="no"?>
            <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{{width}}" height="{{height}}" viewBox="0 0 {{width}} {{height}}" data-total="{{total}}" data-pad="{{Padding}}" data-char="{{CharWidth}}" font-family="Verdana, sans-serif" font-size="{{FontSize}}">
            <style>g.f:hover rect { stroke: #000; stroke-width: 0.5; } g.f text { pointer-events: none; } .ctl { cursor: pointer; fill: #36c; }</style>
            <rect x="0" y="0" width="{{width}}" height="{{height}}" fill="#f8f8f8"/>
            <text x="{{width / 2.0}}" y="22" text-anchor="middle" font-size="16">{{Escape(title)}}</text>
            <text id="reset" class="ctl" x="{{Padding}}" y="22" visibility="hidden">Reset zoom</text>
            <text id="search" class="ctl" x="{{width - Padding}}" y="22" text-anchor="end">Search</text>
            <text id="matched" x="{{width - Padding}}" y="{{height - 10}}" text-anchor="end"></text>
            <text id="details" x="{{Padding}}" y="{{height - 10}}"> </text>

            """));
        var legendX = Padding;
        foreach (var (kind, label) in Legend)
        {
            svg.Append(Invariant($"""<rect x="{legendX}" y="36" width="12" height="12" fill="{Colour(kind, label)}"/><text x="{legendX + 16}" y="46">{Escape(label)}</text>"""));
            svg.Append('\n');
            legendX += 28 + (label.Length * CharWidth);
        }

        Frame(svg, root, 0, 0, scale, height, total);
        svg.Append("<script type=\"text/ecmascript\"><![CDATA[\n").Append(Script.Value).Append("]]></script>\n</svg>\n");
        return svg.ToString();
    }

    /// <summary>A frame's fill: its kind's hue, shaded by a hash of its name (stable across runs and machines).</summary>
    public static string Colour(FrameKind kind, string name)
    {
        var v = Hash(name) / (double)uint.MaxValue;
        var (r, g, b) = kind switch
        {
            FrameKind.App => (40 + (v * 60), 160 + (v * 60), 60 + (v * 50)),
            FrameKind.Dotnet => (80 + (v * 60), 130 + (v * 60), 205 + (v * 45)),
            FrameKind.Managed => (160 + (v * 50), 110 + (v * 50), 205 + (v * 45)),
            FrameKind.Native => (215 + (v * 40), 85 + (v * 70), 55 + (v * 30)),
            FrameKind.Kernel => (225 + (v * 30), 175 + (v * 55), 40 + (v * 40)),
            _ => (185 + (v * 25), 185 + (v * 25), 185 + (v * 25)),
        };
        return Invariant($"rgb({(int)r},{(int)g},{(int)b})");
    }

    /// <summary>The name cut to what fits in a frame <paramref name="width"/> pixels wide, or empty when too little does.</summary>
    public static string Label(string name, double width)
    {
        var fits = (int)((width - 6) / CharWidth);
        return fits < 3 ? string.Empty : name.Length <= fits ? name : string.Concat(name.AsSpan(0, fits - 2), "..");
    }

    private static void Frame(StringBuilder svg, FlameNode root, long start, int depth, double scale, double height, long total)
    {
        // Iterative: stacks of async state machines are deep enough to matter for recursion.
        var pending = new Stack<(FlameNode Node, long Start, int Depth)>();
        pending.Push((root, start, depth));
        while (pending.TryPop(out var item))
        {
            var (node, x0, d) = item;
            var w = node.Total * scale;
            if (w < MinWidth)
            {
                continue;
            }

            var x = Padding + (x0 * scale);
            var y = height - Bottom - ((d + 1) * FrameHeight);
            var kind = d <= 1 ? FrameKind.Root : FrameNames.KindOf(node.Name);
            var share = 100.0 * node.Total / total;
            svg.Append(Invariant($"""<g class="f" data-x="{x0}" data-w="{node.Total}" data-d="{d}"><title>{Escape(node.Name)} ({node.Total:N0} samples, {share:F2}%; self {node.Self:N0})</title><rect x="{x:F2}" y="{y:F1}" width="{w:F2}" height="{FrameHeight - 1}" fill="{Colour(kind, node.Name)}" rx="2"/>"""));
            // Most frames are too narrow for a label: the script adds one when a zoom widens them.
            if (Label(node.Name, w) is { Length: > 0 } label)
            {
                svg.Append(Invariant($"""<text x="{x + 3:F2}" y="{y + FrameHeight - 4:F1}">{Escape(label)}</text>"""));
            }

            svg.Append("</g>\n");
            var children = node.Children.ToArray();
            var offsets = new long[children.Length];
            var at = x0;
            for (var i = 0; i < children.Length; i++)
            {
                offsets[i] = at;
                at += children[i].Total;
            }

            for (var i = children.Length - 1; i >= 0; i--)
            {
                pending.Push((children[i], offsets[i], d + 1));
            }
        }
    }

    private static uint Hash(string name)
    {
        // FNV-1a: string.GetHashCode is randomised per process, and a frame must keep its colour.
        var hash = 2166136261u;
        foreach (var c in name)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }

    private static string Escape(string text) => SecurityElement.Escape(text) ?? string.Empty;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static readonly Lazy<string> Script = new(() =>
    {
        using var stream = typeof(FlameSvg).Assembly.GetManifestResourceStream("App.Bench.Flame.flame.js")
            ?? throw new InvalidOperationException("flame.js is not embedded in App.Bench");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });
}
