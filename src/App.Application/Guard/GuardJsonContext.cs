using System.Text.Json;
using System.Text.Json.Serialization;

namespace App.Application.Guard;

/// <summary>Reads the rule set file, which may carry comments and trailing commas.</summary>
[JsonSourceGenerationOptions(ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(GuardRuleSet))]
internal sealed partial class GuardJsonContext : JsonSerializerContext;
