using System.Text.RegularExpressions;

namespace App.Bench.Flame;

/// <summary>
/// Turns a frame as <c>perf script</c> prints it (symbol and module) into the name the flame graph shows, and says
/// what kind of code a name is. Names from the runtime's perf map lose their return type, assembly, optimisation tier
/// and type-handle comments, and their argument types their namespaces, so one method compiled at two tiers is one
/// frame and the names fit; code perf could not name keeps the module it is in, as <c>[System.Net.Http.dll]</c>.
/// </summary>
internal static partial class FrameNames
{
    /// <summary>The suffix marking kernel frames, the one flame graph tools have used since the first ones.</summary>
    public const string KernelSuffix = "_[k]";

    private const string StubPrefix = "stub ";

    // The runtime's own native libraries count as .NET, like its managed code.
    private static readonly string[] RuntimeModules = ["libcoreclr", "libclrjit", "libSystem.", "libhostfxr", "libhostpolicy"];
    private static readonly string[] DotnetPrefixes = ["System.", "Microsoft.", "Internal.", "dynamicClass", StubPrefix, .. RuntimeModules];

    /// <summary>The name a frame is shown by, or null for a frame that says nothing (no symbol and no module).</summary>
    public static string? Clean(string symbol, string? module)
    {
        var file = string.IsNullOrEmpty(module) || module == "[unknown]" ? null : Path.GetFileName(module);
        var isPerfMap = file is not null && file.StartsWith("perf-", StringComparison.Ordinal) && file.EndsWith(".map", StringComparison.Ordinal);
        var symbolName = Offset().Replace(symbol.Trim(), string.Empty);
        if (symbolName.Length == 0 || symbolName == "[unknown]" || Address().IsMatch(symbolName))
        {
            // Precompiled (ReadyToRun) code and stripped native libraries are named by their module; an address
            // the perf map does not cover is JIT-compiled code whose name the runtime had not written yet.
            return file is null || isPerfMap ? null : Sanitize($"[{file}]");
        }

        if (module is not null && module.StartsWith("[kernel", StringComparison.Ordinal))
        {
            return Sanitize(symbolName + KernelSuffix);
        }

        if (isPerfMap)
        {
            return Sanitize(Managed(symbolName));
        }

        return Sanitize(file is not null && RuntimeModules.Any(m => file.StartsWith(m, StringComparison.Ordinal)) ? $"{file}!{symbolName}" : symbolName);
    }

    /// <summary>True for the runtime's stubs (dispatch, thunks, helpers): trampolines between two frames.</summary>
    public static bool IsStub(string name) => name.StartsWith(StubPrefix, StringComparison.Ordinal);

    /// <summary>What kind of code a cleaned frame name is.</summary>
    public static FrameKind KindOf(string name)
    {
        if (name.EndsWith(KernelSuffix, StringComparison.Ordinal))
        {
            return FrameKind.Kernel;
        }

        if (name == StackFolder.CutFrame)
        {
            return FrameKind.Root;
        }

        var bare = name.TrimStart('[');
        if (bare.StartsWith("App.", StringComparison.Ordinal))
        {
            return FrameKind.App;
        }

        if (DotnetPrefixes.Any(p => bare.StartsWith(p, StringComparison.Ordinal)))
        {
            return FrameKind.Dotnet;
        }

        return name.Contains("::", StringComparison.Ordinal) || name.EndsWith(".dll]", StringComparison.Ordinal) ? FrameKind.Managed : FrameKind.Native;
    }

    /// <summary>
    /// A perf-map name (<c>instance void [Assembly] Namespace.Type::Method(class [Asm]Ns.Arg,int32)[OptimizedTier1]</c>)
    /// as <c>Namespace.Type::Method(Arg,int32)</c>; a stub (<c>stub ReportStubBlock&lt;VSD_VTableStub&gt;</c>) as
    /// <c>stub VSD_VTableStub</c>.
    /// </summary>
    private static string Managed(string symbol)
    {
        var name = TypeHandleComment().Replace(symbol, string.Empty);
        name = Tier().Replace(name, string.Empty);
        if (Stub().Match(name) is { Success: true } stub)
        {
            return StubPrefix + stub.Groups["kind"].Value;
        }

        if (AssemblyAndRest().Match(name) is { Success: true } method)
        {
            name = method.Groups["rest"].Value;
        }

        var member = name.IndexOf("::", StringComparison.Ordinal);
        var args = member < 0 ? -1 : name.IndexOf('(', member);
        var typeArgs = name.IndexOf('[', StringComparison.Ordinal);
        if (typeArgs >= 0 && (member < 0 || typeArgs < member))
        {
            // The generic arguments of the type: the type itself keeps its namespace, its arguments do not.
            var end = member < 0 ? name.Length : member;
            name = name[..typeArgs] + Short(name[typeArgs..end]) + name[end..];
            args = member < 0 ? -1 : name.IndexOf('(', name.IndexOf("::", StringComparison.Ordinal));
        }

        return args < 0 ? name : name[..args] + Short(name[args..]);
    }

    private static string Short(string types) => Namespace().Replace(AssemblyReference().Replace(Keyword().Replace(types, string.Empty), string.Empty), string.Empty);

    // The folded format separates frames with ';' and ends a line with a space and the count.
    private static string Sanitize(string name) => name.Replace(';', ':').Replace('\n', ' ').Trim();

    [GeneratedRegex(@"\+0x[0-9a-fA-F]+$")]
    private static partial Regex Offset();

    [GeneratedRegex(@"^0x[0-9a-fA-F]+$")]
    private static partial Regex Address();

    [GeneratedRegex(@"\s*/\*.*?\*/")]
    private static partial Regex TypeHandleComment();

    [GeneratedRegex(@"(?<=\))\[[A-Za-z0-9]+\]$")]
    private static partial Regex Tier();

    [GeneratedRegex(@"^stub\s+\S*?<(?<kind>[^>]+)>$")]
    private static partial Regex Stub();

    // The defining assembly is the first bracketed name followed by a space; a return type's assembly has none.
    [GeneratedRegex(@"^(?:.*?\s)?\[[^\[\]]+\]\s(?<rest>.+)$")]
    private static partial Regex AssemblyAndRest();

    [GeneratedRegex(@"\b(?:class|valuetype)\s+")]
    private static partial Regex Keyword();

    [GeneratedRegex(@"\[[^\[\],]+\](?=[A-Za-z_])")]
    private static partial Regex AssemblyReference();

    [GeneratedRegex(@"(?<![\w`])(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_])")]
    private static partial Regex Namespace();
}
