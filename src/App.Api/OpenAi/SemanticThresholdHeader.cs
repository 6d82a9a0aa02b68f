using System.Globalization;
using App.Application.Calls;

namespace App.Api.OpenAi;

/// <summary>
/// <c>x-semantic-threshold</c>: the similarity a caller asks a semantic hit to reach for this request. A value under
/// the configured threshold changes nothing (a request can only make the cache stricter); one that is not a single
/// number from 0 to 1 is refused.
/// </summary>
internal static class SemanticThresholdHeader
{
    public const string Name = "x-semantic-threshold";

    /// <summary>The header's value; null when it is absent.</summary>
    /// <exception cref="GatewayException">The header is not one number from 0 to 1.</exception>
    public static double? Read(IHeaderDictionary headers)
    {
        if (!headers.TryGetValue(Name, out var values))
        {
            return null;
        }

        if (values.Count != 1
            || !double.TryParse(values[0], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            || value is < 0 or > 1)
        {
            throw new GatewayException(GatewayErrorKind.InvalidRequest, $"{Name} must be one number between 0 and 1 (a similarity a semantic hit must reach; it can only raise the configured threshold).", Name);
        }

        return value;
    }
}
