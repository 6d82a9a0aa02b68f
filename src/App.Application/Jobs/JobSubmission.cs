using System.Text.Json.Serialization;
using App.Application.OpenAi;

namespace App.Application.Jobs;

/// <summary>The body of <c>POST /v1/jobs</c>: one chat completion request, or several.</summary>
public sealed class JobSubmission
{
    [JsonPropertyName("request")]
    public ChatCompletionRequest? Request { get; init; }

    [JsonPropertyName("requests")]
    public List<ChatCompletionRequest>? Requests { get; init; }
}
