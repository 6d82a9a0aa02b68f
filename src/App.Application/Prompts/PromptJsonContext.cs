using System.Text.Json;
using System.Text.Json.Serialization;

namespace App.Application.Prompts;

[JsonSourceGenerationOptions(ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(PromptDefinition))]
public sealed partial class PromptJsonContext : JsonSerializerContext;
