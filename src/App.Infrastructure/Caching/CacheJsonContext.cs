using System.Text.Json.Serialization;
using App.Application.Caching;
using App.Application.Semantic;

namespace App.Infrastructure.Caching;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(CachedCompletion))]
[JsonSerializable(typeof(SemanticEntry))]
internal sealed partial class CacheJsonContext : JsonSerializerContext;
