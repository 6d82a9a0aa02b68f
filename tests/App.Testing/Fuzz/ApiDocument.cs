using System.Text.Json.Nodes;

namespace App.Testing.Fuzz;

/// <summary>An OpenAPI 3 document as the fuzzer needs it: its operations, and <c>$ref</c>s resolved on demand.</summary>
public sealed class ApiDocument
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch", "head", "options"];
    private readonly JsonNode _root;

    private ApiDocument(JsonNode root, IReadOnlyList<ApiOperation> operations)
    {
        _root = root;
        Operations = operations;
    }

    public IReadOnlyList<ApiOperation> Operations { get; }

    public static ApiDocument Parse(string json)
    {
        var root = JsonNode.Parse(json) ?? throw new ArgumentException("The document is empty.", nameof(json));
        var operations = new List<ApiOperation>();
        foreach (var (path, item) in root["paths"]?.AsObject() ?? [])
        {
            var shared = item?["parameters"]?.AsArray() ?? [];
            foreach (var method in Methods)
            {
                if (item?[method] is not JsonObject operation)
                {
                    continue;
                }

                var parameters = shared.Concat(operation["parameters"]?.AsArray() ?? [])
                    .Select(p => Resolve(root, p))
                    .OfType<JsonObject>()
                    .Select(p => new ApiParameter(
                        (string)p["name"]!,
                        (string)p["in"]!,
                        p["required"]?.GetValue<bool>() == true,
                        p["schema"] is { } schema ? Resolve(root, schema) : null))
                    .ToList();
                var content = Resolve(root, operation["requestBody"])?["content"]?.AsObject();
                var body = content?.FirstOrDefault();
                var statuses = (operation["responses"]?.AsObject() ?? []).Select(r => r.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
                operations.Add(new ApiOperation(
                    method.ToUpperInvariant(),
                    path,
                    (string?)operation["operationId"] ?? $"{method.ToUpperInvariant()} {path}",
                    parameters,
                    body?.Key,
                    body?.Value?["schema"] is { } bodySchema ? Resolve(root, bodySchema) : null,
                    statuses));
            }
        }

        return new ApiDocument(root, operations);
    }

    /// <summary>The schema itself, or the one its <c>$ref</c> points to (local references only).</summary>
    public JsonNode? Resolve(JsonNode? node) => Resolve(_root, node);

    private static JsonNode? Resolve(JsonNode root, JsonNode? node)
    {
        for (var hops = 0; hops < 16 && node?["$ref"] is JsonValue reference; hops++)
        {
            node = ((string)reference!).TrimStart('#').Split('/', StringSplitOptions.RemoveEmptyEntries)
                .Aggregate<string, JsonNode?>(root, (current, segment) => current?[segment.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)]);
        }

        return node;
    }
}
