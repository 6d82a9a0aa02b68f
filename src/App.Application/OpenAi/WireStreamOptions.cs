using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

public sealed class WireStreamOptions
{
    [JsonPropertyName("include_usage")]
    public bool? IncludeUsage { get; set; }
}
