namespace App.Testing;

public sealed record SseEvent(string? Event, string Data);

/// <summary>Reads a text/event-stream response the way a client library would.</summary>
public static class Sse
{
    public static async Task<List<SseEvent>> ReadAllAsync(HttpResponseMessage response, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(response);
        var events = new List<SseEvent>();
        await foreach (var e in ReadAsync(response, cancellationToken))
        {
            events.Add(e);
        }

        return events;
    }

    public static async IAsyncEnumerable<SseEvent> ReadAsync(HttpResponseMessage response, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(response);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(body);
        string? type = null;
        var data = new List<string>();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Count > 0)
                {
                    yield return new SseEvent(type, string.Join('\n', data));
                }

                type = null;
                data.Clear();
            }
            else if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                type = line[6..].Trim();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data.Add(line[5..].TrimStart());
            }
        }

        if (data.Count > 0)
        {
            yield return new SseEvent(type, string.Join('\n', data));
        }
    }
}
