using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace App.FakeUpstream;

/// <summary>
/// The upstream's <c>/v1/embeddings</c>: a vector per input made from a hash of the input (the same input always gets
/// the same vector), of <see cref="Dimensions"/> values unless the request asks for <c>dimensions</c>. It counts the
/// requests and items it receives, so a test can see what the gateway sent upstream and what it answered itself.
/// </summary>
public sealed class FakeEmbeddings
{
    private readonly ConcurrentQueue<int> _statuses = new();
    private readonly ConcurrentQueue<string> _bodies = new();
    private int _requests;
    private int _items;

    /// <summary>The length of the vectors when the request does not name one.</summary>
    public int Dimensions { get; set; } = 16;

    /// <summary>How long each request waits before it is answered.</summary>
    public TimeSpan Delay { get; set; }

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Input items received over all requests.</summary>
    public int Items => Volatile.Read(ref _items);

    /// <summary>The bodies received, in order.</summary>
    public IReadOnlyCollection<string> Bodies => _bodies;

    /// <summary>The next requests are answered with these statuses and an OpenAI error body.</summary>
    public void Enqueue(params int[] statuses)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        foreach (var s in statuses)
        {
            _statuses.Enqueue(s);
        }
    }

    /// <summary>The vector this upstream gives an input (a string, or the JSON of a token array), for tests to compare with.</summary>
    public static float[] VectorOf(string input, int dimensions)
    {
        var vector = new float[dimensions];
        var seed = SHA256.HashData(Encoding.UTF8.GetBytes(input));
        double norm = 0;
        for (var i = 0; i < dimensions; i++)
        {
            vector[i] = (seed[i % seed.Length] - 127.5f) / 127.5f + (i / 32);
            norm += vector[i] * vector[i];
        }

        for (var i = 0; i < dimensions; i++)
        {
            vector[i] = (float)(vector[i] / Math.Sqrt(norm));
        }

        return vector;
    }

    internal async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        _bodies.Enqueue(body);
        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay, context.RequestAborted);
        }

        if (_statuses.TryDequeue(out var status))
        {
            context.Response.StatusCode = status;
            await context.Response.WriteAsJsonAsync(new { error = new { message = $"injected {status}", type = "server_error", param = (string?)null, code = "injected" } }, context.RequestAborted);
            return;
        }

        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        var model = root.GetProperty("model").GetString();
        var dimensions = root.TryGetProperty("dimensions", out var d) ? d.GetInt32() : Dimensions;
        var inputs = root.GetProperty("input") switch
        {
            { ValueKind: JsonValueKind.String } s => [s.GetString()!],
            var array => array.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText()).ToList(),
        };
        Interlocked.Add(ref _items, inputs.Count);
        var data = inputs.Select((input, i) => new { @object = "embedding", index = i, embedding = VectorOf(input, dimensions) }).Reverse();
        var tokens = inputs.Sum(i => i.Length / 4 + 1);
        await context.Response.WriteAsJsonAsync(new { @object = "list", data, model, usage = new { prompt_tokens = tokens, total_tokens = tokens } }, context.RequestAborted);
    }
}
