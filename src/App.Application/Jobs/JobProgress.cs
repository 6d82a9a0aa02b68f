using System.Text.Json.Serialization;

namespace App.Application.Jobs;

public sealed record JobProgress(
    [property: JsonPropertyName("total")] int Total,
    [property: JsonPropertyName("done")] int Done);
