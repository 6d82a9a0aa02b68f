using System.Text.Json.Nodes;

namespace App.Testing.Fuzz;

/// <summary>A path, query or header parameter of an operation.</summary>
public sealed record ApiParameter(string Name, string In, bool Required, JsonNode? Schema);
