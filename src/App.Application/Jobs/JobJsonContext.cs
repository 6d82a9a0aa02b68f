using System.Text.Json.Serialization;
using App.Application.OpenAi;

namespace App.Application.Jobs;

[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    AllowOutOfOrderMetadataProperties = true)]
[JsonSerializable(typeof(JobSubmission))]
[JsonSerializable(typeof(List<ChatCompletionRequest>))]
[JsonSerializable(typeof(List<JobItemResult>))]
[JsonSerializable(typeof(JobView))]
public sealed partial class JobJsonContext : JsonSerializerContext;
