using System.Text.Json;

namespace App.Application.Prompts;

/// <summary>A JSON Schema, compiled: the port the prompt contracts validate through.</summary>
public interface IJsonSchema
{
    /// <summary>The schema as JSON (sent to the model as its response format).</summary>
    JsonElement Document { get; }

    /// <summary>Top-level property names (the placeholders a template may use).</summary>
    IReadOnlyCollection<string> Properties { get; }

    /// <summary>Empty when valid; otherwise one line per violation, <c>path: problem</c>.</summary>
    IReadOnlyList<string> Validate(string json);
}
