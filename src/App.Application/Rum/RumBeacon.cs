using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;

namespace App.Application.Rum;

/// <summary>
/// One page view's measurements as the page sends them, <c>{"lcp":1234.5,"inp":48,"cls":0.02,"ttft":640}</c>: times
/// in milliseconds, each metric optional but at least one present. Anyone can send one, so it is read strictly:
/// known members only, each once, finite numbers in a plausible range, and all of it valid before any is recorded.
/// </summary>
public sealed record RumBeacon(double? Lcp, double? Inp, double? Cls, double? Ttft)
{
    /// <summary>Room to spare for four numbers, and a small read for a body anyone may send.</summary>
    public const int MaxBytes = 2048;

    public const double MaxMilliseconds = 60_000;

    public const double MaxLayoutShift = 10;

    private const int MaxNameInDetail = 64;

    private static readonly string[] Names = ["lcp", "inp", "cls", "ttft"];

    public static bool TryParse(ReadOnlySpan<byte> json, [NotNullWhen(true)] out RumBeacon? beacon, [NotNullWhen(false)] out RumBeaconError? error)
    {
        beacon = null;
        var values = new double?[Names.Length];
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = new RumBeaconError("invalid_json", null, "The body must be a JSON object of metric names and numbers.");
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var index = IndexOfName(ref reader);
                if (index < 0)
                {
                    var unknown = Shorten(reader.GetString()!);
                    error = new RumBeaconError("unknown_parameter", unknown, $"Unrecognized member '{unknown}': a beacon carries only lcp, inp, cls and ttft.");
                    return false;
                }

                var name = Names[index];
                if (values[index] is not null)
                {
                    error = new RumBeaconError("duplicate_member", name, $"The member '{name}' appears more than once. Send each metric once.");
                    return false;
                }

                if (!reader.Read() || reader.TokenType != JsonTokenType.Number)
                {
                    error = new RumBeaconError("invalid_type", name, $"Invalid type for '{name}': expected a number.");
                    return false;
                }

                var max = name == "cls" ? MaxLayoutShift : MaxMilliseconds;
                if (!reader.TryGetDouble(out var value) || !double.IsFinite(value) || value < 0 || value > max)
                {
                    error = new RumBeaconError("invalid_value", name, string.Create(CultureInfo.InvariantCulture,
                        $"Invalid value for '{name}': expected a number from 0 to {max}{(name == "cls" ? string.Empty : " (milliseconds)")}."));
                    return false;
                }

                values[index] = value;
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                error = new RumBeaconError("invalid_json", null, "The body must be one JSON object of metric names and numbers.");
                return false;
            }
        }
        catch (JsonException ex)
        {
            error = new RumBeaconError("invalid_json", null, string.Create(CultureInfo.InvariantCulture,
                $"The request body is not valid JSON (line {ex.LineNumber + 1}, position {ex.BytePositionInLine + 1})."));
            return false;
        }
        catch (InvalidOperationException)
        {
            error = new RumBeaconError("invalid_unicode", null, "The request body is not valid UTF-8.");
            return false;
        }

        if (Array.TrueForAll(values, v => v is null))
        {
            error = new RumBeaconError("invalid_value", null, "The beacon carries no metric: send at least one of lcp, inp, cls and ttft.");
            return false;
        }

        error = null;
        beacon = new RumBeacon(values[0], values[1], values[2], values[3]);
        return true;
    }

    private static int IndexOfName(ref Utf8JsonReader reader)
    {
        for (var i = 0; i < Names.Length; i++)
        {
            if (reader.ValueTextEquals(Names[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static string Shorten(string name) => name.Length <= MaxNameInDetail ? name : name[..MaxNameInDetail] + "...";
}
