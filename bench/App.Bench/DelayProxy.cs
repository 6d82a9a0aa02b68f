using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace App.Bench;

/// <summary>
/// A TCP relay that holds every chunk coming back from the target for a fixed time, to stand in for a service
/// that is not on the same host (a managed Redis in another zone is 0.5-2 ms away, round trip). Order is kept.
/// The delay is whole milliseconds (the timers' resolution) and a floor, so measure the round trip it gives
/// (<c>redis-cli -p PORT --latency</c>) and report that. With <c>--delay-ms 0</c> it is a plain relay that copies
/// each read straight to the other side: the least work any process in a request's path can do, so its cost on a
/// core is the floor of what a gateway on that core can add (bench/run.sh measures it beside the gateway).
/// </summary>
internal static class DelayProxy
{
    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken = default)
    {
        var listen = Args.Int(args, "--port", 0);
        var target = Args.Text(args, "--target");
        var delayMs = Args.Int(args, "--delay-ms", 1);
        if (listen <= 0 || target?.Split(':') is not [var host, var portText] || !int.TryParse(portText, out var targetPort) || delayMs < 0)
        {
            Console.Error.WriteLine("usage: App.Bench delay-proxy --port P --target HOST:PORT [--delay-ms N]   (replies held N ms, default 1; 0: a plain relay)");
            return 2;
        }

        var delay = delayMs * Stopwatch.Frequency / 1000;
        using var listener = new TcpListener(IPAddress.Loopback, listen);
        listener.Start();
        Console.WriteLine($"delay proxy on 127.0.0.1:{listen} -> {target}, replies held {delayMs} ms");
        try
        {
            while (true)
            {
                var client = await listener.AcceptTcpClientAsync(cancellationToken);
                _ = RelayAsync(client, host, targetPort, delay);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 0;
        }
    }

    private static async Task RelayAsync(TcpClient client, string host, int port, long delay)
    {
        using (client)
        using (var server = new TcpClient())
        {
            try
            {
                client.NoDelay = true;
                server.NoDelay = true;
                await server.ConnectAsync(host, port);
                var up = client.GetStream().CopyToAsync(server.GetStream());
                var down = delay == 0 ? server.GetStream().CopyToAsync(client.GetStream()) : PumpAsync(server.GetStream(), client.GetStream(), delay);
                await Task.WhenAny(up, down);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                // one side went away: close both
            }
        }
    }

    private static async Task PumpAsync(Stream from, Stream to, long delay)
    {
        var queue = Channel.CreateUnbounded<(long Due, byte[] Data)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var sending = Task.Run(async () =>
        {
            await foreach (var (due, data) in queue.Reader.ReadAllAsync())
            {
                var wait = due - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    // Task.Delay counts whole milliseconds, truncated: round up so that the delay stays a floor.
                    await Task.Delay((int)Math.Ceiling(wait * 1000.0 / Stopwatch.Frequency));
                }

                await to.WriteAsync(data);
            }
        });

        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await from.ReadAsync(buffer)) > 0)
        {
            queue.Writer.TryWrite((Stopwatch.GetTimestamp() + delay, buffer[..read]));
        }

        queue.Writer.Complete();
        await sending;
    }
}
