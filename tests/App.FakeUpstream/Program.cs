using System.Globalization;

namespace App.FakeUpstream;

/// <summary>
/// Standalone:
/// <c>dotnet run --project tests/App.FakeUpstream -- --port 8090 --latency-ms 50 --chunks 64 --chunk-interval-ms 20</c>.
/// </summary>
internal static class Program
{
    public static async Task Main(string[] args)
    {
        int Arg(string name, int fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
        }

        var port = Arg("--port", 8090);
        await using var server = await FakeUpstreamServer.StartAsync($"http://127.0.0.1:{port}", b =>
        {
            b.Latency = TimeSpan.FromMilliseconds(Arg("--latency-ms", 0));
            b.StreamChunks = Arg("--chunks", 16);
            b.ChunkInterval = TimeSpan.FromMilliseconds(Arg("--chunk-interval-ms", 0));
        });
        Console.WriteLine($"Fake OpenAI-compatible upstream on {server.BaseUrl} (Ctrl+C or SIGTERM to stop)");
        await server.WaitForShutdownAsync();
    }
}
