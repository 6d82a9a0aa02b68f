using NJsonSchema;

namespace App.Testing;

/// <summary>
/// The JSON Schemas of the public wire format (src/App.Api/Contracts). Tests validate what they send and
/// receive against them, so a change to the wire format that the schemas do not describe fails loudly.
/// </summary>
public static class Contracts
{
    private static readonly Lazy<Task<JsonSchema>> RequestSchema = new(() => Load("chat-completion-request"));
    private static readonly Lazy<Task<JsonSchema>> ResponseSchema = new(() => Load("chat-completion"));
    private static readonly Lazy<Task<JsonSchema>> ChunkSchema = new(() => Load("chat-completion-chunk"));
    private static readonly Lazy<Task<JsonSchema>> ErrorSchema = new(() => Load("error"));
    private static readonly Lazy<Task<JsonSchema>> ModelsSchema = new(() => Load("model-list"));
    private static readonly Lazy<Task<JsonSchema>> StreamErrorSchema = new(() => Load("stream-error"));

    public static Task<JsonSchema> Request => RequestSchema.Value;

    public static Task<JsonSchema> Response => ResponseSchema.Value;

    public static Task<JsonSchema> Chunk => ChunkSchema.Value;

    public static Task<JsonSchema> Error => ErrorSchema.Value;

    public static Task<JsonSchema> Models => ModelsSchema.Value;

    public static Task<JsonSchema> StreamError => StreamErrorSchema.Value;

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Contracts");

    public static async Task AssertValidAsync(Task<JsonSchema> schema, string json, string what)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var errors = (await schema).Validate(json);
        if (errors.Count > 0)
        {
            throw new Xunit.Sdk.XunitException($"{what} does not match its contract:\n  {string.Join("\n  ", errors.Select(e => $"{e.Path}: {e.Kind}"))}\n{json}");
        }
    }

    private static Task<JsonSchema> Load(string name) => JsonSchema.FromFileAsync(Path.Combine(Directory, name + ".schema.json"));
}
