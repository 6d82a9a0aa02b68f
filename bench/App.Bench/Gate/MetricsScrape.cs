using System.Globalization;

namespace App.Bench.Gate;

/// <summary>
/// One read of the service's Prometheus endpoint, as sums per metric name over every label set. A counter the
/// service never added to is not exported at all, so an absent name reads 0; whether the scrape reached this service
/// at all is told by the runtime's working-set gauge, which it always exports.
/// </summary>
internal sealed class MetricsScrape
{
    public const string WorkingSet = "dotnet_process_memory_working_set_bytes";
    public const string Dropped = "app_traces_dropped_total";
    public const string Queued = "app_traces_queued";

    private readonly Dictionary<string, double> _sums;

    private MetricsScrape(Dictionary<string, double> sums) => _sums = sums;

    public bool IsThisService => _sums.ContainsKey(WorkingSet);

    public double Sum(string name) => _sums.GetValueOrDefault(name);

    public static async Task<MetricsScrape?> ReadAsync(HttpClient http, Uri url)
    {
        try
        {
            return Parse(await http.GetStringAsync(url));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            Console.Error.WriteLine($"metrics: {url} did not answer ({ex.Message})");
            return null;
        }
    }

    public static MetricsScrape Parse(string text)
    {
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var nameEnd = line.IndexOfAny(['{', ' ']);
            if (nameEnd <= 0)
            {
                continue;
            }

            var valueStart = line[nameEnd] == '{' ? line.IndexOf('}', nameEnd) + 2 : nameEnd + 1;
            if (valueStart <= nameEnd || valueStart >= line.Length)
            {
                continue;
            }

            var value = line[valueStart..].Split(' ')[0];
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            {
                var name = line[..nameEnd];
                sums[name] = sums.GetValueOrDefault(name) + v;
            }
        }

        return new MetricsScrape(sums);
    }
}
