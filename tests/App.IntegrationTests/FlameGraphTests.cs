using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using App.Bench;
using App.Bench.Flame;

namespace App.IntegrationTests;

/// <summary>How <c>App.Bench flame</c> folds <c>perf script</c> output and draws it: no perf needed, only text in and out.</summary>
public class FlameGraphTests
{
    private const string Map = "/tmp/perf-25318.map";
    private const string Runtime = "/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12";
    private const string AspNet = "/usr/share/dotnet/shared/Microsoft.AspNetCore.App/10.0.12";

    // Three samples as perf script prints them (leaf first): two of one stack, the method at two tiers, and one of a
    // thread whose name has a space, ending in a stub.
    private static readonly string PerfScript = $"""
        .NET Sockets 25338 22284.736684:    2004008 cpu-clock:ppp:
        	ffffffff8a1b2c3d _raw_spin_unlock_irqrestore+0x1d ([kernel.kallsyms])
        	ffffffff8a000001 do_syscall_64+0x5c ([kernel.kallsyms])
        	    7f56acb00001 __send+0x11 (/usr/lib/x86_64-linux-gnu/libc.so.6)
        	    7f56ad945970 class [System.Runtime]System.Threading.Tasks.Task [App.Api] App.Api.Hosting.ServiceDefaults::SecurityHeaders(class [Microsoft.AspNetCore.Http.Abstractions]Microsoft.AspNetCore.Http.HttpContext,class [Microsoft.AspNetCore.Http.Abstractions]Microsoft.AspNetCore.Http.RequestDelegate)[QuickJitted]+0x2bb ({Map})
        	    7f56ad000002 stub ReportStubBlock<VSD_DispatchStub>+0x0 ({Map})
        	           1425a [unknown] ({AspNet}/Microsoft.AspNetCore.Diagnostics.dll)
        	            ef0d [unknown] ({AspNet}/Microsoft.AspNetCore.Diagnostics.dll)
        	    7f56aca572bd void [System.Private.CoreLib] System.Threading.ExecutionContext::RunInternal(class System.Threading.ExecutionContext,class System.Threading.ContextCallback,object)[OptimizedTier1]+0x9d ({Map})
        	    7f56aca57000 [unknown] ({Map})
        	          5fa3cc [unknown] ({Runtime}/libcoreclr.so)
        	          458305 [unknown] ({Runtime}/libcoreclr.so)
        	           891f5 start_thread+0x305 (/usr/lib/x86_64-linux-gnu/libc.so.6)

        .NET Sockets 25338 22284.738688:    2004008 cpu-clock:ppp:
        	ffffffff8a1b2c3d _raw_spin_unlock_irqrestore+0x1d ([kernel.kallsyms])
        	ffffffff8a000001 do_syscall_64+0x5c ([kernel.kallsyms])
        	    7f56acb00001 __send+0x11 (/usr/lib/x86_64-linux-gnu/libc.so.6)
        	    7f56ae000100 class [System.Runtime]System.Threading.Tasks.Task [App.Api] App.Api.Hosting.ServiceDefaults::SecurityHeaders(class [Microsoft.AspNetCore.Http.Abstractions]Microsoft.AspNetCore.Http.HttpContext,class [Microsoft.AspNetCore.Http.Abstractions]Microsoft.AspNetCore.Http.RequestDelegate)[OptimizedTier1]+0x80 ({Map})
        	           1425a [unknown] ({AspNet}/Microsoft.AspNetCore.Diagnostics.dll)
        	    7f56aca572bd void [System.Private.CoreLib] System.Threading.ExecutionContext::RunInternal(class System.Threading.ExecutionContext,class System.Threading.ContextCallback,object)[OptimizedTier1]+0x9d ({Map})
        	          5fa3cc [unknown] ({Runtime}/libcoreclr.so)
        	           891f5 start_thread+0x305 (/usr/lib/x86_64-linux-gnu/libc.so.6)

        Trace writer 25400 22284.740000:    2004008 cpu-clock:ppp:
        	    7f56ad000003 stub ReportStubBlock<VSD_VTableStub>+0x0 ({Map})
        	    7f56ad000004 instance void [Npgsql] Npgsql.NpgsqlCommand+<ExecuteReader>d__122::MoveNext()[QuickJitted]+0x10 ({Map})
        	    7f56ad000005 [unknown] ([unknown])
        	           891f5 start_thread+0x305 (/usr/lib/x86_64-linux-gnu/libc.so.6)

        """;

    [Fact]
    public void PerfScriptOutputFoldsIntoOneLinePerStackFromTheThreadToTheLeaf()
    {
        var folded = StackFolder.Fold(new StringReader(PerfScript));

        var text = new StringWriter { NewLine = "\n" };
        StackFolder.Write(text, folded);
        Assert.Equal(
            ".NET Sockets;start_thread;[libcoreclr.so];System.Threading.ExecutionContext::RunInternal(ExecutionContext,ContextCallback,object);"
            + "[Microsoft.AspNetCore.Diagnostics.dll];App.Api.Hosting.ServiceDefaults::SecurityHeaders(HttpContext,RequestDelegate);__send;do_syscall_64_[k];"
            + "_raw_spin_unlock_irqrestore_[k] 2\n"
            + "Trace writer;start_thread;Npgsql.NpgsqlCommand+<ExecuteReader>d__122::MoveNext();stub VSD_VTableStub 1\n",
            text.ToString());
    }

    [Fact]
    public void AStackAsDeepAsPerfKeepsIsMarkedAsCut()
    {
        const string script = """
            .NET TP Worker 1 1.000000: 1 cpu-clock:
            	1 c ([kernel.kallsyms])
            	2 b ([kernel.kallsyms])
            	3 a ([kernel.kallsyms])

            .NET TP Worker 1 1.002000: 1 cpu-clock:
            	1 c ([kernel.kallsyms])
            	2 b ([kernel.kallsyms])

            """;

        var folded = StackFolder.Fold(new StringReader(script), maxStack: 3);

        Assert.Equal(
            [$".NET TP Worker;{StackFolder.CutFrame};a_[k];b_[k];c_[k]", ".NET TP Worker;b_[k];c_[k]"],
            folded.Keys.ToArray());
        Assert.Equal(FrameKind.Root, FrameNames.KindOf(StackFolder.CutFrame));
    }

    [Theory]
    [InlineData("instance class [System.Runtime]System.Threading.Tasks.Task [App.Api] App.Api.Idempotency.IdempotencyMiddleware::InvokeAsync(class [Microsoft.AspNetCore.Http.Abstractions]Microsoft.AspNetCore.Http.HttpContext)[QuickJitted]+0x61", Map,
        "App.Api.Idempotency.IdempotencyMiddleware::InvokeAsync(HttpContext)")]
    [InlineData("instance void [System.Private.CoreLib] System.Runtime.CompilerServices.AsyncTaskMethodBuilder`1+AsyncStateMachineBox`1[System.Threading.Tasks.VoidTaskResult,Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http.HttpProtocol+<ProcessRequests>d__237`1[System.__Canon]]::MoveNext(class System.Threading.Thread)[QuickJitted]+0x19e", Map,
        "System.Runtime.CompilerServices.AsyncTaskMethodBuilder`1+AsyncStateMachineBox`1[VoidTaskResult,HttpProtocol+<ProcessRequests>d__237`1[__Canon]]::MoveNext(Thread)")]
    [InlineData("System.Threading.Tasks.Task /* MT: 0x7f56a5726da0 */ [Anonymously Hosted DynamicMethods Assembly] dynamicClass::lambda_method317(System.Runtime.CompilerServices.Closure /* MT: 0x7f56aad1f8f8 */,object,Microsoft.AspNetCore.Http.HttpContext /* MT: 0x7f56a94fbf10 */,object[])[Optimized]", Map,
        "dynamicClass::lambda_method317(Closure,object,HttpContext,object[])")]
    [InlineData("!!0 [System.Private.CoreLib] System.Buffers.IndexOfAnyAsciiSearcher::IndexOfAnyCore(int16&,int32,valuetype System.Buffers.IndexOfAnyAsciiSearcher/AsciiState&)[QuickJitted]", Map,
        "System.Buffers.IndexOfAnyAsciiSearcher::IndexOfAnyCore(int16&,int32,IndexOfAnyAsciiSearcher/AsciiState&)")]
    [InlineData("stub ReportStubBlock<VSD_VTableStub>", Map, "stub VSD_VTableStub")]
    [InlineData("tcp_sendmsg+0x2c", "[kernel.kallsyms]", "tcp_sendmsg_[k]")]
    [InlineData("[unknown]", Runtime + "/System.Net.Http.dll", "[System.Net.Http.dll]")]
    [InlineData("mark_object_simple+0x20", Runtime + "/libcoreclr.so", "libcoreclr.so!mark_object_simple")]
    [InlineData("__send+0x11", "/usr/lib/x86_64-linux-gnu/libc.so.6", "__send")]
    [InlineData("[unknown]", "[unknown]", null)]
    [InlineData("[unknown]", Map, null)]
    [InlineData("0x00000000004af21c", "[unknown]", null)]
    public void FramesAreNamedWithoutTheNoiseOfPerfAndThePerfMap(string symbol, string module, string? expected) =>
        Assert.Equal(expected, FrameNames.Clean(symbol, module));

    [Theory]
    [InlineData("App.Api.OpenAi.ChatCompletionsApi::CreateAsync(HttpContext)", "App")]
    [InlineData("[App.Infrastructure.dll]", "App")]
    [InlineData("System.Text.Json.Utf8JsonWriter::WriteStringValue(string)", "Dotnet")]
    [InlineData("[Microsoft.AspNetCore.Server.Kestrel.Core.dll]", "Dotnet")]
    [InlineData("[libcoreclr.so]", "Dotnet")]
    [InlineData("stub VSD_VTableStub", "Dotnet")]
    [InlineData("dynamicClass::lambda_method317(Closure)", "Dotnet")]
    [InlineData("StackExchange.Redis.PhysicalConnection::CommitAndParseFrames(int32)", "Managed")]
    [InlineData("[Npgsql.dll]", "Managed")]
    [InlineData("__send", "Native")]
    [InlineData("tcp_sendmsg_[k]", "Kernel")]
    public void FramesAreColouredByTheKindOfCode(string name, string kind) => Assert.Equal(Enum.Parse<FrameKind>(kind), FrameNames.KindOf(name));

    [Fact]
    public void FoldedStacksReadBackAsWritten()
    {
        var folded = new SortedDictionary<string, long>(StringComparer.Ordinal) { ["a b;c(int32, string)"] = 5, ["a b;d"] = 2 };
        var text = new StringWriter();
        StackFolder.Write(text, folded);

        var read = StackFolder.Read(new StringReader(text + "a b;d 1\n\nnot a line\n"));

        Assert.Equal([new("a b;c(int32, string)", 5), new("a b;d", 3)], read.ToArray());
    }

    [Fact]
    public void TheSvgHasOneRectPerFrameAsWideAsItsSamplesWithTheRootAtTheBottom()
    {
        var folded = new SortedDictionary<string, long>(StringComparer.Ordinal)
        {
            ["t;App.A::Run();b"] = 3,
            ["t;App.A::Run();c"] = 1,
            ["t;List`1<T>&Co"] = 4,
        };
        const int width = 1000;
        var scale = (width - (2 * FlameSvg.Padding)) / 8;

        var svg = XDocument.Parse(FlameSvg.Render(FlameNode.Build(folded), "gateway <test>", width));

        XNamespace ns = "http://www.w3.org/2000/svg";
        var frames = svg.Descendants(ns + "g").Where(g => (string?)g.Attribute("class") == "f").Select(g => new
        {
            Name = g.Element(ns + "title")!.Value[..g.Element(ns + "title")!.Value.LastIndexOf(" (", StringComparison.Ordinal)],
            Title = g.Element(ns + "title")!.Value,
            Samples = long.Parse(g.Attribute("data-w")!.Value, CultureInfo.InvariantCulture),
            Depth = int.Parse(g.Attribute("data-d")!.Value, CultureInfo.InvariantCulture),
            Rect = g.Element(ns + "rect")!,
        }).ToDictionary(f => f.Name);
        // all, t, App.A::Run(), b, c and List`1<T>&Co: one rect each.
        Assert.Equal(["all", "t", "App.A::Run()", "b", "c", "List`1<T>&Co"], frames.Keys.ToArray());
        foreach (var frame in frames.Values)
        {
            var rectWidth = double.Parse(frame.Rect.Attribute("width")!.Value, CultureInfo.InvariantCulture);
            Assert.Equal(frame.Samples * scale, rectWidth, 0.01);
            Assert.Contains(FormattableString.Invariant($"({frame.Samples:N0} samples, {100.0 * frame.Samples / 8:F2}%"), frame.Title, StringComparison.Ordinal);
        }

        Assert.Equal(3 * Width(frames["c"].Rect), Width(frames["b"].Rect), 0.01);
        Assert.Equal(Width(frames["b"].Rect) + Width(frames["c"].Rect), Width(frames["App.A::Run()"].Rect), 0.01);
        // Deeper frames stand higher: y falls as depth grows.
        var byDepth = frames.Values.GroupBy(f => f.Depth).OrderBy(g => g.Key).Select(g => g.Select(f => Y(f.Rect)).Distinct().Single()).ToArray();
        Assert.Equal(byDepth.OrderDescending().ToArray(), byDepth);
        Assert.Equal("gateway <test>", svg.Descendants(ns + "text").First(t => t.Attribute("font-size")?.Value == "16").Value);
        Assert.NotEqual(frames["b"].Rect.Attribute("fill")!.Value, frames["t"].Rect.Attribute("fill")!.Value);
        Assert.Single(svg.Descendants(ns + "script"));

        static double Width(XElement rect) => double.Parse(rect.Attribute("width")!.Value, CultureInfo.InvariantCulture);
        static double Y(XElement rect) => double.Parse(rect.Attribute("y")!.Value, CultureInfo.InvariantCulture);
    }

    [Fact]
    public void FramesTooNarrowToSeeAreLeftOutOfTheSvg()
    {
        var folded = new SortedDictionary<string, long>(StringComparer.Ordinal) { ["t;wide"] = 100_000, ["t;narrow;deeper"] = 1 };

        var svg = FlameSvg.Render(FlameNode.Build(folded), "t", 1000);

        Assert.Contains("<title>wide (", svg, StringComparison.Ordinal);
        Assert.DoesNotContain("<title>narrow (", svg, StringComparison.Ordinal);
        Assert.DoesNotContain("<title>deeper (", svg, StringComparison.Ordinal);
    }

    [Fact]
    public void LabelsAreCutToTheFrameAndColoursStayTheSame()
    {
        Assert.Equal("System.Threading", FlameSvg.Label("System.Threading", 200));
        Assert.Equal("Syste..", FlameSvg.Label("System.Threading", 60));
        Assert.Equal(string.Empty, FlameSvg.Label("System.Threading", 20));
        Assert.Equal(FlameSvg.Colour(FrameKind.App, "App.A"), FlameSvg.Colour(FrameKind.App, "App.A"));
        Assert.NotEqual(FlameSvg.Colour(FrameKind.App, "App.A"), FlameSvg.Colour(FrameKind.Kernel, "App.A"));
    }

    [Fact]
    public void TheSpeedscopeFileIsOneSampledProfileOfTheSameStacks()
    {
        var folded = StackFolder.Fold(new StringReader(PerfScript));
        using var output = new MemoryStream();

        SpeedscopeWriter.Write(output, folded, "gateway");

        var root = JsonDocument.Parse(output.ToArray()).RootElement;
        Assert.Equal("https://www.speedscope.app/file-format-schema.json", root.GetProperty("$schema").GetString());
        Assert.Equal(0, root.GetProperty("activeProfileIndex").GetInt32());
        var frames = root.GetProperty("shared").GetProperty("frames").EnumerateArray().Select(f => f.GetProperty("name").GetString()!).ToArray();
        Assert.Equal(frames.Length, frames.Distinct(StringComparer.Ordinal).Count());
        var profile = Assert.Single(root.GetProperty("profiles").EnumerateArray().ToArray());
        Assert.Equal("sampled", profile.GetProperty("type").GetString());
        Assert.Equal("gateway", profile.GetProperty("name").GetString());
        Assert.Equal("none", profile.GetProperty("unit").GetString());
        Assert.Equal(0, profile.GetProperty("startValue").GetInt64());
        Assert.Equal(3, profile.GetProperty("endValue").GetInt64());
        // Each sample is a stack of indices into the frames, root first, weighted by its count.
        var stacks = profile.GetProperty("samples").EnumerateArray()
            .Select(s => string.Join(';', s.EnumerateArray().Select(i => frames[i.GetInt32()])))
            .Zip(profile.GetProperty("weights").EnumerateArray().Select(w => w.GetInt64()))
            .Select(p => new KeyValuePair<string, long>(p.First, p.Second))
            .OrderBy(p => p.Key, StringComparer.Ordinal);
        Assert.Equal(folded.ToArray(), stacks.ToArray());
        Assert.Equal(profile.GetProperty("samples").GetArrayLength(), profile.GetProperty("weights").GetArrayLength());
    }

    [Fact]
    public async Task TheCommandWritesTheFoldedStacksTheSvgAndTheSpeedscopeFile()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"flame-{Guid.NewGuid():N}");
        var input = Path.Combine(dir, "perf.txt");
        Directory.CreateDirectory(dir);
        try
        {
            await File.WriteAllTextAsync(input, PerfScript, Encoding.UTF8);

            Assert.Equal(0, await FlameScenario.RunAsync(["flame", "--perf-script", input, "--out", dir, "--title", "test"]));

            Assert.Equal(2, (await File.ReadAllLinesAsync(Path.Combine(dir, FlameScenario.FoldedFile))).Length);
            XDocument.Load(Path.Combine(dir, FlameScenario.SvgFile));
            using var json = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(dir, FlameScenario.SpeedscopeFile)));
            Assert.Equal(3, json.RootElement.GetProperty("profiles")[0].GetProperty("endValue").GetInt64());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
