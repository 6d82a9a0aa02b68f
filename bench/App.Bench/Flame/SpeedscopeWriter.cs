using System.Text.Json;

namespace App.Bench.Flame;

/// <summary>
/// Writes folded stacks as a speedscope file (https://www.speedscope.app/file-format-schema.json): one "sampled"
/// profile whose samples are the distinct stacks, root first, as indices into the shared frames, each weighted by its
/// sample count. speedscope.app opens it as is, with its time-order, left-heavy and sandwich views.
/// </summary>
internal static class SpeedscopeWriter
{
    public const string Schema = "https://www.speedscope.app/file-format-schema.json";

    public static void Write(Stream output, IEnumerable<KeyValuePair<string, long>> folded, string name)
    {
        var frames = new Dictionary<string, int>(StringComparer.Ordinal);
        var samples = new List<int[]>();
        var weights = new List<long>();
        foreach (var (stack, count) in folded)
        {
            samples.Add([.. stack.Split(';').Select(frame => frames.TryGetValue(frame, out var i) ? i : frames[frame] = frames.Count)]);
            weights.Add(count);
        }

        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        json.WriteString("$schema", Schema);
        json.WriteString("name", name);
        json.WriteString("exporter", "App.Bench flame");
        json.WriteNumber("activeProfileIndex", 0);
        json.WriteStartObject("shared");
        json.WriteStartArray("frames");
        foreach (var frame in frames.OrderBy(f => f.Value))
        {
            json.WriteStartObject();
            json.WriteString("name", frame.Key);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteStartArray("profiles");
        json.WriteStartObject();
        json.WriteString("type", "sampled");
        json.WriteString("name", name);
        json.WriteString("unit", "none");
        json.WriteNumber("startValue", 0);
        json.WriteNumber("endValue", weights.Sum());
        json.WriteStartArray("samples");
        foreach (var sample in samples)
        {
            json.WriteStartArray();
            foreach (var index in sample)
            {
                json.WriteNumberValue(index);
            }

            json.WriteEndArray();
        }

        json.WriteEndArray();
        json.WriteStartArray("weights");
        foreach (var weight in weights)
        {
            json.WriteNumberValue(weight);
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
