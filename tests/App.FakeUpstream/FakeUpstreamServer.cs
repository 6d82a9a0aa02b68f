using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace App.FakeUpstream;

/// <summary>What the upstream does with one request.</summary>
public enum FaultKind
{
    /// <summary>Answers normally (after <see cref="Fault.Delay"/>).</summary>
    Ok,

    /// <summary>Answers with <see cref="Fault.Status"/> and an OpenAI error body, with Retry-After when set.</summary>
    Status,

    /// <summary>Answers 200 with a body that is not JSON (<see cref="Fault.Message"/> inside it when set).</summary>
    Malformed,

    /// <summary>Streams <see cref="Fault.Chunks"/> chunks, then drops the connection.</summary>
    CutStream,

    /// <summary>Streams <see cref="Fault.Chunks"/> chunks, then ends the response cleanly but without [DONE].</summary>
    EndWithoutDone,

    /// <summary>Never answers; waits until the client goes away.</summary>
    Hang,

    /// <summary>Answers normally but stops at the token limit: <c>finish_reason: "length"</c>.</summary>
    Length,
}

public sealed record Fault(FaultKind Kind, int Status = 500, TimeSpan Delay = default, int Chunks = 3, string? RetryAfter = null, string? Location = null, string? Message = null)
{
    /// <summary>A redirect (<see cref="FaultKind.Status"/> with a <c>Location</c>).</summary>
    public static Fault Redirect(int status, string location) => new(FaultKind.Status, status, Location: location);

    public static Fault Ok(TimeSpan delay = default) => new(FaultKind.Ok, Delay: delay);

    /// <summary>An error answer; <paramref name="message"/> is the error body's message (by default "injected" and the status).</summary>
    public static Fault Error(int status, string? retryAfter = null, string? message = null) => new(FaultKind.Status, status, RetryAfter: retryAfter, Message: message);
}

/// <summary>Shapes a normal answer: its words, how they are chunked, and pacing.</summary>
public sealed class UpstreamBehaviour
{
    public TimeSpan Latency { get; set; }

    public int StreamChunks { get; set; } = 8;

    public TimeSpan ChunkInterval { get; set; }

    /// <summary>Report no usage, as some OpenAI-compatible servers do on streams.</summary>
    public bool OmitUsage { get; set; }
}

/// <summary>One request the upstream received.</summary>
public sealed record ReceivedRequest(DateTimeOffset At, string Body, string? Authorization, string Path);

/// <summary>
/// An OpenAI-compatible upstream on loopback that injects faults: status codes with Retry-After, latency,
/// malformed JSON, streams cut mid-way or ended without [DONE], hangs. A queue of <see cref="Fault"/>s scripts
/// the next requests; when it is empty, <see cref="Default"/> applies. Runs in-process for tests and standalone
/// (Program.cs) for benchmarks.
/// </summary>
public sealed class FakeUpstreamServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Fault> _script = new();
    private readonly ConcurrentQueue<ReceivedRequest> _received = new();
    private int _requests;
    private int _aborted;
    private int _inFlight;

    private FakeUpstreamServer(WebApplication app)
    {
        _app = app;
    }

    public Uri BaseUrl { get; private set; } = null!;

    public UpstreamBehaviour Behaviour { get; } = new();

    public Fault Default { get; set; } = Fault.Ok();

    /// <summary>The <c>/v1/embeddings</c> route and what it received.</summary>
    public FakeEmbeddings Embeddings { get; } = new();

    /// <summary>When set (and nothing is scripted), picks the fault of each request: random faults for chaos runs.</summary>
    public Func<Fault>? Chaos { get; set; }

    /// <summary>Chat requests received so far.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Requests whose client went away before the answer was complete.</summary>
    public int Aborted => Volatile.Read(ref _aborted);

    public int InFlight => Volatile.Read(ref _inFlight);

    public IReadOnlyCollection<ReceivedRequest> Received => _received;

    public void Enqueue(params Fault[] faults)
    {
        ArgumentNullException.ThrowIfNull(faults);
        foreach (var f in faults)
        {
            _script.Enqueue(f);
        }
    }

    public static async Task<FakeUpstreamServer> StartAsync(string url = "http://127.0.0.1:0", Action<UpstreamBehaviour>? configure = null)
    {
        var app = LoopbackHost.Create(url);
        var server = new FakeUpstreamServer(app);
        configure?.Invoke(server.Behaviour);
        app.MapPost("/v1/chat/completions", server.HandleAsync);
        app.MapPost("/v1/embeddings", server.Embeddings.HandleAsync);
        app.MapGet("/v1/models", () => Results.Json(new { @object = "list", data = new[] { new { id = "fake-model", @object = "model", owned_by = "fake" } } }));
        var address = await LoopbackHost.StartAsync(app);
        server.BaseUrl = new Uri(address.TrimEnd('/') + "/v1/");
        return server;
    }

    public async Task WaitForAsync(Func<FakeUpstreamServer, bool> condition, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!condition(this))
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"The upstream did not reach the expected state within {timeout} (requests {Requests}, aborted {Aborted}, in flight {InFlight}).");
            }

            await Task.Delay(20);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Increment(ref _inFlight);
        var completed = false;
        try
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            _received.Enqueue(new ReceivedRequest(DateTimeOffset.UtcNow, body, context.Request.Headers.Authorization, context.Request.Path));
            var fault = _script.TryDequeue(out var next) ? next : Chaos?.Invoke() ?? Default;
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            var model = root.TryGetProperty("model", out var m) ? m.GetString() ?? "fake-model" : "fake-model";
            var stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
            var prompt = root.GetProperty("messages").EnumerateArray().Last().GetProperty("content").GetString() ?? string.Empty;

            var delay = fault.Delay > TimeSpan.Zero ? fault.Delay : Behaviour.Latency;
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, context.RequestAborted);
            }

            switch (fault.Kind)
            {
                case FaultKind.Status:
                    context.Response.StatusCode = fault.Status;
                    if (fault.RetryAfter is not null)
                    {
                        context.Response.Headers.RetryAfter = fault.RetryAfter;
                    }

                    if (fault.Location is not null)
                    {
                        context.Response.Headers.Location = fault.Location;
                    }

                    await context.Response.WriteAsJsonAsync(new { error = new { message = fault.Message ?? $"injected {fault.Status}", type = "server_error", param = (string?)null, code = "injected" } }, context.RequestAborted);
                    break;
                case FaultKind.Malformed:
                    context.Response.ContentType = stream ? "text/event-stream" : "application/json";
                    await context.Response.WriteAsync(stream ? "data: {\"id\": oops\n\n" : $"{{\"id\": \"{fault.Message ?? "x"}\", \"choices\": [", context.RequestAborted);
                    break;
                case FaultKind.Hang:
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                    break;
                default:
                    if (stream)
                    {
                        await StreamAsync(context, model, prompt, fault);
                    }
                    else
                    {
                        await context.Response.WriteAsync(Completion(model, prompt, fault.Kind == FaultKind.Length ? "length" : "stop"), context.RequestAborted);
                    }

                    break;
            }

            completed = true;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        catch (IOException)
        {
        }
        finally
        {
            if (!completed || context.RequestAborted.IsCancellationRequested)
            {
                if (context.RequestAborted.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _aborted);
                }
            }

            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task StreamAsync(HttpContext context, string model, string prompt, Fault fault)
    {
        context.Response.ContentType = "text/event-stream";
        var words = Words(prompt, Behaviour.StreamChunks);
        var id = "chatcmpl-fake" + Requests.ToString(CultureInfo.InvariantCulture);
        await Write(context, $$"""{"id":"{{id}}","object":"chat.completion.chunk","created":1,"model":"{{model}}","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""");
        var limit = fault.Kind is FaultKind.CutStream or FaultKind.EndWithoutDone ? Math.Min(fault.Chunks, words.Count) : words.Count;
        for (var i = 0; i < limit; i++)
        {
            if (i > 0 && Behaviour.ChunkInterval > TimeSpan.Zero)
            {
                await Task.Delay(Behaviour.ChunkInterval, context.RequestAborted);
            }

            await Write(context, $$"""{"id":"{{id}}","object":"chat.completion.chunk","created":1,"model":"{{model}}","choices":[{"index":0,"delta":{"content":{{JsonSerializer.Serialize(words[i])}}},"finish_reason":null}]}""");
        }

        if (fault.Kind == FaultKind.CutStream)
        {
            // A reset discards data the peer has received but not yet read; give it time to read what was sent,
            // so the cut lands after the first tokens as intended.
            await Task.Delay(250, context.RequestAborted);
            context.Abort();
            return;
        }

        if (fault.Kind == FaultKind.EndWithoutDone)
        {
            return;
        }

        await Write(context, $$"""{"id":"{{id}}","object":"chat.completion.chunk","created":1,"model":"{{model}}","choices":[{"index":0,"delta":{},"finish_reason":"{{(fault.Kind == FaultKind.Length ? "length" : "stop")}}"}]}""");
        if (!Behaviour.OmitUsage)
        {
            await Write(context, $$$"""{"id":"{{{id}}}","object":"chat.completion.chunk","created":1,"model":"{{{model}}}","choices":[],"usage":{"prompt_tokens":{{{prompt.Length / 4 + 1}}},"completion_tokens":{{{words.Count}}},"total_tokens":{{{prompt.Length / 4 + 1 + words.Count}}}}}""");
        }
        await context.Response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);

        static async Task Write(HttpContext context, string json)
        {
            await context.Response.WriteAsync("data: " + json + "\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
    }

    private string Completion(string model, string prompt, string finish)
    {
        var words = Words(prompt, Behaviour.StreamChunks);
        var text = string.Concat(words);
        return $$$"""{"id":"chatcmpl-fake{{{Requests}}}","object":"chat.completion","created":1,"model":"{{{model}}}","choices":[{"index":0,"message":{"role":"assistant","content":{{{JsonSerializer.Serialize(text)}}}},"finish_reason":"{{{finish}}}"}],"usage":{"prompt_tokens":{{{prompt.Length / 4 + 1}}},"completion_tokens":{{{words.Count}}},"total_tokens":{{{prompt.Length / 4 + 1 + words.Count}}}}}""";
    }

    /// <summary>The answer's words: "Echo: " and the prompt, padded or cut to <paramref name="count"/> pieces.</summary>
    private static List<string> Words(string prompt, int count)
    {
        var source = ("Echo: " + prompt).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var words = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            var w = i < source.Length ? source[i] : "word" + i.ToString(CultureInfo.InvariantCulture);
            words.Add(i == 0 ? w : " " + w);
        }

        return words;
    }

    /// <summary>Completes when the host is asked to stop (Ctrl+C, SIGTERM).</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
