using System.Diagnostics;
using System.Net.Http.Headers;
using System.Runtime;
using System.Text;
using App.Application.Identity;
using App.Infrastructure.Identity;
using App.Infrastructure.Providers;
using App.Infrastructure.Traces;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace App.Api.Hosting.WarmUp;

/// <summary>
/// Sends requests to the API's own listener, through the whole pipeline (Kestrel, authentication, the gateway, the
/// cache, streaming), as the reserved tenant <see cref="ReservedTenants.WarmUp"/> on a model served without a network
/// call, until the runtime has compiled the request path; readiness waits for it (<see cref="WarmUpHealthCheck"/>). A
/// new instance otherwise meets its first load with code compiled for start-up, not speed, and on one CPU the tiered
/// compiler waits for a quiet moment a busy instance never has (docs/benchmarks.md, "From a cold start").
/// The calls count against no limit or budget and are left out of the HTTP metrics and the request log; their traces
/// go through the trace writer, whose inserts for this tenant are rolled back, so its path is compiled too and nothing
/// is kept. Meanwhile the OpenAI-compatible client runs against answers made in memory (<see cref="UpstreamRehearsal"/>). A warm-up that cannot run (no plain-HTTP address, a model that refuses) ends at once and the API is ready
/// without it.
/// </summary>
internal sealed partial class SelfWarmUp(
    IServer server,
    IHostApplicationLifetime lifetime,
    AccessTokenIssuer tokens,
    UpstreamRehearsal upstream,
    TraceWriter traces,
    IOptions<WarmUpOptions> options,
    ILogger<SelfWarmUp> logger) : BackgroundService
{
    private static readonly TimeSpan MinDuration = TimeSpan.FromSeconds(2);
    // Enough calls for the runtime to recompile the client's methods optimised (tens of calls each), few enough to
    // leave the CPU to the warm-up's requests.
    private const int RehearsedCalls = 400;
    private static readonly TimeSpan WritingAtMost = TimeSpan.FromSeconds(5);
    private int _done;
    private long _requests;
    private long _failures;

    public bool Done => Volatile.Read(ref _done) == 1;

    public long Requests => Interlocked.Read(ref _requests);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (options.Value.Enabled)
            {
                await RunAsync(options.Value, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or TimeoutException)
        {
            LogFailed(ex.GetType().Name, ex.Message);
        }
        finally
        {
            Volatile.Write(ref _done, 1);
        }
    }

    private async Task RunAsync(WarmUpOptions settings, CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken);
        }

        if (Loopback(server.Features.Get<IServerAddressesFeature>()?.Addresses ?? []) is not { } address)
        {
            LogNoAddress();
            return;
        }

        var (token, _) = tokens.Issue(new TokenSubject("warm-up", ReservedTenants.WarmUp, [Scopes.ChatInvoke], "warm-up-" + Guid.NewGuid().ToString("N")[..12]));
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        var clock = Stopwatch.StartNew();
        var compiledAtStart = JitInfo.GetCompiledMethodCount();
        using var enough = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var workers = Enumerable.Range(0, settings.Concurrency).Select(n => CallAsync(client, settings.Model, n, enough)).ToArray();
        var rehearsal = upstream.Applies ? Task.Run(() => upstream.RunAsync(RehearsedCalls, enough.Token), CancellationToken.None) : Task.FromResult(0L);
        var compiled = compiledAtStart;
        while (clock.Elapsed < settings.MaxDuration && !enough.IsCancellationRequested)
        {
            await Task.WhenAny(Task.Delay(TimeSpan.FromSeconds(1), stoppingToken), Task.WhenAll(workers));
            stoppingToken.ThrowIfCancellationRequested();
            var now = JitInfo.GetCompiledMethodCount();
            if (clock.Elapsed >= MinDuration && now - compiled < settings.SettledBelow)
            {
                break;
            }

            compiled = now;
        }

        await enough.CancelAsync();
        await Task.WhenAll(workers);
        var rehearsed = await rehearsal;

        // The trace writer runs at the lowest priority, so under the warm-up's load it may not have written anything
        // yet: with the load stopped it writes (and rolls back) the warm-up's traces, compiling its path before ready.
        var writing = Stopwatch.StartNew();
        while (traces.Backlog > 0 && writing.Elapsed < WritingAtMost)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), stoppingToken);
        }

        var (requests, failures, seconds, methods) = (Requests, Interlocked.Read(ref _failures), clock.Elapsed.TotalSeconds, JitInfo.GetCompiledMethodCount() - compiledAtStart);
        LogDone(requests, failures, rehearsed, seconds, methods);
    }

    /// <summary>One client's share: whole answers uncached and cached, a stream, and the model list, in turn.</summary>
    private async Task CallAsync(HttpClient client, string model, int worker, CancellationTokenSource enough)
    {
        for (var i = 0; !enough.IsCancellationRequested; i++)
        {
            var kind = (worker + i) % 4;
            try
            {
                using var request = kind == 3
                    ? new HttpRequestMessage(HttpMethod.Get, "/v1/models")
                    : new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Chat(model, kind, worker, i) };
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, enough.Token);
                await response.Content.CopyToAsync(Stream.Null, enough.Token);
                Interlocked.Increment(ref _requests);
                if (!response.IsSuccessStatusCode)
                {
                    // A model that does not exist, or refuses, will not start to answer: stop instead of measuring 4xx.
                    if (Interlocked.Increment(ref _failures) == 1)
                    {
                        LogRefused(model, (int)response.StatusCode);
                    }

                    await enough.CancelAsync();
                }
            }
            catch (OperationCanceledException) when (enough.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private static StringContent Chat(string model, int kind, int worker, int i)
    {
        // kind 0: a new question (a cache miss); 1: the same one at temperature 0 (a cache hit after the first); 2: a stream.
        var json = kind switch
        {
            1 => $$"""{"model":"{{model}}","messages":[{"role":"user","content":"warm-up"}],"temperature":0}""",
            2 => $$"""{"model":"{{model}}","messages":[{"role":"user","content":"warm-up stream {{worker}} {{i}}"}],"temperature":0.7,"stream":true}""",
            _ => $$"""{"model":"{{model}}","messages":[{"role":"user","content":"warm-up {{worker}} {{i}}"}],"temperature":0.7}""",
        };
        return new StringContent(json, Encoding.UTF8, "application/json");
    }

    /// <summary>A plain-HTTP address of this API reachable on loopback (a wildcard or any-address binding becomes 127.0.0.1).</summary>
    internal static Uri? Loopback(IEnumerable<string> addresses)
    {
        foreach (var address in addresses)
        {
            if (!address.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var rest = address["http://".Length..];
            var colon = rest.LastIndexOf(':');
            if (colon < 0 || !int.TryParse(rest.AsSpan(colon + 1).TrimEnd('/'), out var port))
            {
                continue;
            }

            var host = rest[..colon] switch
            {
                "0.0.0.0" or "*" or "+" or "[::]" or "localhost" => "127.0.0.1",
                var other => other,
            };
            return new Uri($"http://{host}:{port}");
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Warmed up: {Requests} requests ({Failures} failed) and {Rehearsed} rehearsed upstream calls in {Seconds:F1} s; the runtime compiled {Methods} methods meanwhile")]
    private partial void LogDone(long requests, long failures, long rehearsed, double seconds, long methods);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The warm-up model {Model} answered {Status}; warm-up stopped (WarmUp:Model should name a model served without a provider, such as the offline one)")]
    private partial void LogRefused(string model, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No plain-HTTP address to warm up through; the API is ready without a warm-up")]
    private partial void LogNoAddress();

    [LoggerMessage(Level = LogLevel.Warning, Message = "The warm-up failed ({ErrorType}: {Error}); the API is ready without it")]
    private partial void LogFailed(string errorType, string error);
}
