using System.Globalization;
using System.Text.Json.Nodes;

namespace App.Testing.Fuzz;

/// <summary>One method on one path, with what it takes and the statuses it declares.</summary>
public sealed record ApiOperation(
    string Method,
    string Path,
    string Id,
    IReadOnlyList<ApiParameter> Parameters,
    string? BodyMediaType,
    JsonNode? BodySchema,
    IReadOnlySet<string> Statuses)
{
    public bool Declares(int status) =>
        Statuses.Contains(status.ToString(CultureInfo.InvariantCulture))
        || Statuses.Contains($"{status / 100}XX")
        || Statuses.Contains("default");

    public override string ToString() => $"{Method} {Path} ({Id})";
}
