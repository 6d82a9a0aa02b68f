using System.Text.Json.Serialization;
using App.Application.Calls;
using App.Application.OpenAi;

namespace App.Application.Jobs;

/// <summary>One request's outcome within a job.</summary>
public sealed class JobItemResult
{
    [JsonPropertyName("index")]
    public int Index { get; init; }

    /// <summary><c>ok</c> or <c>error</c>.</summary>
    [JsonPropertyName("status")]
    public required string Status { get; init; }

    [JsonPropertyName("response")]
    public ChatCompletion? Response { get; init; }

    [JsonPropertyName("error")]
    public WireError? Error { get; init; }

    public static JobItemResult Failed(int index, GatewayException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        var (_, _, _, type, code) = GatewayErrors.Describe(ex.Kind);
        return new JobItemResult { Index = index, Status = "error", Error = new WireError { Message = ex.Message, Type = type, Param = ex.Param, Code = code } };
    }
}
