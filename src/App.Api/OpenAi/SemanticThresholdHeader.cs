using System.Globalization;

namespace App.Api.OpenAi;

/// <summary>
/// <c>x-semantic-threshold</c>: the similarity a caller asks a semantic hit to reach for this request. A value under
/// the configured threshold changes nothing (a request can only make the cache stricter); one that is not a single
/// number from 0 to 1 is refused.
/// </summary>
internal static class SemanticThresholdHeader
{
    public const string Name = "x-semantic-threshold";

    public static bool TryRead(IHeaderDictionary headers, out double? threshold)
    {
        threshold = null;
        if (!headers.TryGetValue(Name, out var values))
        {
            return true;
        }

        if (values.Count != 1
            || !double.TryParse(values[0], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            || value is < 0 or > 1)
        {
            return false;
        }

        threshold = value;
        return true;
    }
}
