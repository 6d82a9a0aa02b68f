using System.Text.Json.Serialization;
using App.Application.Caching;

namespace App.Infrastructure.Caching;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(CachedCompletion))]
internal sealed partial class CacheJsonContext : JsonSerializerContext;
